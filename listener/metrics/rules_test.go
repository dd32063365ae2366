package metrics_test

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flux-companion/flux/listener/metrics"
)

// The alerting rules watch metrics the listener serves: a renamed metric would leave an alert
// that never fires. (promtool checks the rules' syntax and behaviour in make test.)
func TestAlertRulesUseServedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/flux-alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil, "flux_listener", slog.New(slog.DiscardHandler))
	descs := make(chan *prometheus.Desc, 100)
	go func() {
		m.Registry.Describe(descs)
		close(descs)
	}()
	served := map[string]bool{}
	name := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range descs {
		if n := name.FindStringSubmatch(d.String()); n != nil {
			served[n[1]] = true
		}
	}
	used := regexp.MustCompile(`\bflux_[a-z_]+`).FindAllString(string(b), -1)
	if len(used) < 7 {
		t.Fatalf("the rules use only %d Flux metrics", len(used))
	}
	for _, u := range used {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(u, "_bucket"), "_sum"), "_count")
		if !served[base] && !served[u] {
			t.Errorf("the rules use %s, which the listener does not serve", u)
		}
	}
}
