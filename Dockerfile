# The flux service image: one static binary on a distroless base.
#
#   docker build -t flux .
#   docker run --rm -e DATABASE_URL=postgres://... flux migrate
#   docker run --rm --env-file .env -p 8080:8080 flux
#
# Build stage: the Go toolchain on Debian bookworm (the same Debian release the local stack uses).
# The official golang images set GOTOOLCHAIN=local, so this tag must provide at least the go line
# of go.mod.
FROM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum change, not on every
# source edit.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
# CGO_ENABLED=0: a fully static binary (pgx and the rest are pure Go), so the final image needs no
# libc. -trimpath drops local paths from the binary; -s -w drop the symbol and DWARF tables.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/flux ./listener

# Final stage: distroless static has CA certificates (TLS to Supabase, Twilio, OpenRouter) and
# tzdata (users' IANA timezones), and no shell or package manager to attack.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/flux /flux
# The :nonroot variant already defaults to this user (uid 65532); stated so it is never lost.
USER nonroot:nonroot
# HTTP: Twilio webhooks and the few user calls that need a secret.
EXPOSE 8080
ENTRYPOINT ["/flux"]
# Inside a container the service listens on every interface; the rest comes from the
# environment (see .env.example).
ENV FLUX_HTTP_ADDR=0.0.0.0:8080
CMD ["listen"]
