package testenv

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Scrape returns a node's /metrics text (Prometheus format; the endpoint
// takes no signature).
func Scrape(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// Metric returns the sum of the series of metric name, at the node's
// /metrics, that carry every one of labels (each as `key="value"`); a
// metric without labels matches when none are asked for.
func Metric(t testing.TB, url, name string, labels ...string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{([^}]*)\})? (\S+)$`)
	sum := 0.0
	for _, m := range re.FindAllStringSubmatch(Scrape(t, url), -1) {
		all := true
		for _, l := range labels {
			all = all && strings.Contains(m[1], l)
		}
		if all {
			v, _ := strconv.ParseFloat(m[2], 64)
			sum += v
		}
	}
	return sum
}
