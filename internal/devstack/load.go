package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshbone/meshbone/examples"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
	"github.com/meshbone/meshbone/pkg/product"
)

// FailingProduct is the example product whose latest quality run misses an
// SLO, so a quality violation shows on first start (the encryption-at-rest
// violation of product.usage-feedback comes from its descriptor).
const FailingProduct = "marketing.customer-sentiment"

// loadExamplesOnce registers the example mesh through the registrar with
// each domain's token and publishes a few quality runs per product, once per
// data directory.
func loadExamplesOnce(ctx context.Context, dir string, ep Endpoints, tokens map[string]string, say func(string, ...any)) error {
	marker := filepath.Join(dir, examplesMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	descs, err := examples.Descriptors()
	if err != nil {
		return err
	}
	for i, d := range descs {
		cl := registrar.Client{URL: ep.Registrar, Token: tokens[d.Metadata.Domain]}
		res, err := cl.Apply(ctx, d)
		if err != nil {
			return fmt.Errorf("register %s: %w", d.ID(), err)
		}
		what := strings.ToLower(string(res.Type))
		if res.Unchanged {
			what = "already registered"
		}
		say("examples: %-30s %-6s %s (%d/%d)", d.ID(), d.Spec.Version, what, i+1, len(descs))
	}
	pub, err := events.NewPublisher(events.SeedBrokers(strings.Split(ep.Kafka, ",")...), events.RegistryURLs(ep.Registry))
	if err != nil {
		return err
	}
	defer pub.Close()
	now := time.Now().UTC().Truncate(time.Second)
	runs := 0
	for _, d := range descs {
		for r := 2; r >= 0; r-- {
			at := now.Add(-time.Duration(r) * time.Hour)
			if err := pub.Publish(ctx, qualityRun(d, at, r == 0, r == 0 && d.ID() == FailingProduct)); err != nil {
				return fmt.Errorf("quality run of %s: %w", d.ID(), err)
			}
			runs++
		}
	}
	say("examples: published %d quality runs (the latest run of %s misses its completeness SLO)", runs, FailingProduct)
	if err := waitIndexed(ctx, ep.Indexer, len(descs)); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte(now.Format(time.RFC3339)+"\n"), 0o644)
}

// qualityRun builds a run of one check per SLO of d, passing unless fail
// (then the first check misses its SLO). Only the latest run carries a data
// watermark.
func qualityRun(d *product.Descriptor, at time.Time, latest, fail bool) *events.QualityEvent {
	p := d.ToEvent()
	q := &events.QualityEvent{
		EventID:   fmt.Sprintf("dev-%s-%d", p.ID, at.Unix()),
		ProductID: p.ID, ProductVersion: p.Version, RunID: at.Format("2006-01-02T15:04"),
		ObservedAt: at,
	}
	if latest { // earlier runs' data is long superseded; only the latest says how fresh the product is
		watermark := at.Add(-5 * time.Minute)
		q.DataWatermark = &watermark
	}
	for i, slo := range p.QualitySLOs {
		observed := passing(slo)
		if fail && i == 0 {
			observed = slo.Threshold - 0.04
		}
		q.Checks = append(q.Checks, events.QualityCheck{
			Name: strings.ToLower(string(slo.Dimension)), Dimension: slo.Dimension,
			Observed: observed, Operator: slo.Operator, Threshold: slo.Threshold, Passed: !(fail && i == 0),
		})
	}
	return q
}

// passing returns an observed value that meets slo.
func passing(slo events.QualitySLO) float64 {
	switch {
	case slo.Operator == "==":
		return slo.Threshold
	case slo.Threshold > 1: // a volume
		return slo.Threshold * 1.3
	case strings.HasPrefix(slo.Operator, ">"):
		return min(1, slo.Threshold+0.01)
	default:
		return slo.Threshold / 2
	}
}

// waitIndexed waits (bounded) until the indexer's search shows n products.
func waitIndexed(ctx context.Context, indexer string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		var res struct {
			Total int `json:"total"`
		}
		if err := getJSON(ctx, indexer+"/api/v1/search?"+url.Values{"size": {"1"}}.Encode(), &res); err == nil && res.Total >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the indexer did not show the %d example products within 60s", n)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func probe(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return nil
}
