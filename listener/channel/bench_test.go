package channel_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/flux-companion/flux/listener/channel"
	"github.com/flux-companion/flux/listener/twilioclient"
	"github.com/flux-companion/flux/listener/twiliofake"
	"github.com/flux-companion/flux/sql/store"
)

// BenchmarkWhatsAppSend is the provider's share of the escalation benchmark: one WhatsApp
// reminder through twilio-go to the fake Twilio on loopback, both in this process, from as many
// concurrent senders as the benchmark's dispatch workers. sends/s is what the machine can do
// with nothing else running; CPU-µs/send what each send costs both sides together.
func BenchmarkWhatsAppSend(b *testing.B) {
	tw, err := twiliofake.Start(authToken)
	if err != nil {
		b.Fatal(err)
	}
	defer tw.Close()
	client, err := twilioclient.New(twilioclient.Config{AccountSID: twiliofake.AccountSID, AuthToken: authToken, APIBaseURL: tw.URL(), Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	sender := &channel.WhatsApp{Twilio: channel.Twilio{Client: client, From: from, PublicBaseURL: publicURL},
		Templates: channel.Templates{Reminder: tw.AddReminderTemplate()}}
	phoneNumber, due := phone, time.Date(2026, 11, 25, 17, 0, 0, 0, time.UTC)
	it := store.OutboxItem{ID: 1, TaskID: "6f1c1b4e-1f0a-4c55-9d55-1c0d6d6e7f10", Channel: "whatsapp", Attempts: 1,
		TaskTitle: "Call mom", ScheduledAt: &due, Timezone: "Europe/Berlin", Phone: &phoneNumber, OfferReschedule: true}

	cpu0 := processCPU(b)
	b.SetParallelism(16) // 16 per core: the benchmark's 32 workers on this 2-core machine
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := sender.Send(context.Background(), it); res.Err != nil || res.ExternalID == "" {
				b.Errorf("send: %+v", res)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "CPU-µs/send")
	if got := len(tw.Requests()); got != b.N {
		b.Fatalf("the fake recorded %d messages for %d sends", got, b.N)
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
