package registrar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/meshbone/meshbone/internal/kafka"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/internal/testkit"
)

// TestAccessEnforcedByTheBroker runs the registrar as the superuser of a
// broker with SASL/SCRAM and ACLs (nothing is allowed without an ACL): a
// consumer without an agreement is refused, with an approved one it reads
// the port and uses groups of its prefix only, after revocation it is
// refused again.
func TestAccessEnforcedByTheBroker(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", "admin", "admin-pw"),
		kfake.User("SCRAM-SHA-256", "dash", "dash-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	brokers := cluster.ListenAddrs()
	as := func(user, pass string, opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...),
			kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}

	opts := registrar.DefaultOptions()
	opts.Kafka = kafka.Config{Brokers: brokers, RegistryURL: reg.URL(), SASLMechanism: kafka.SASLScramSHA256, SASLUser: "admin", SASLPassword: "admin-pw"}
	opts.Listen, opts.TokenFile = "127.0.0.1:0", writeTokens(t)
	svc, err := registrar.New(opts, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testkit.Eventually(t, func() bool { return ready(svc.URL()) }, "registrar ready")

	post := func(path, token string, body any) map[string]any {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, svc.URL()+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+token)
		if s, ok := body.(string); ok {
			req, _ = http.NewRequest(http.MethodPost, svc.URL()+path, strings.NewReader(s))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/yaml")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, raw)
		}
		return out
	}
	orders := strings.Replace(desc{domain: "sales", name: "orders", version: "1.0.0"}.yaml(), "sensitivity: internal", "sensitivity: confidential", 1)
	post("/api/v1/products", salesToken, orders)
	topic := "sales.orders.events.v1"
	if err := as("admin", "admin-pw").ProduceSync(context.Background(), &kgo.Record{Topic: topic, Value: []byte("order-1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// read reads the port as dash: the first record, or the broker's refusal.
	read := func() (string, error) {
		t.Helper()
		cl := as("dash", "dash-pw", kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		defer cl.Close()
		rctx, rcancel := context.WithTimeout(context.Background(), testkit.DefaultWait)
		defer rcancel()
		for {
			fs := cl.PollFetches(rctx)
			if rctx.Err() != nil {
				t.Fatal("no record and no refusal")
			}
			if err := fs.Err0(); err != nil {
				return "", err
			}
			if rs := fs.Records(); len(rs) > 0 {
				return string(rs[0].Value), nil
			}
		}
	}
	// commit commits an offset of the port as dash in consumer group g;
	// group asks for g's offsets as dash (a group nobody used is not found,
	// once the ACLs let dash ask).
	commit := func(g string) error {
		o := kadm.Offsets{}
		o.Add(kadm.Offset{Topic: topic, Partition: 0, At: 1})
		resp, err := kadm.NewClient(as("dash", "dash-pw")).CommitOffsets(context.Background(), g, o)
		if err == nil {
			err = resp.Error()
		}
		return err
	}
	group := func(g string) error {
		_, err := kadm.NewClient(as("dash", "dash-pw")).FetchOffsets(context.Background(), g)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return nil
		}
		return err
	}

	if _, err := read(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("reading without an agreement: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	req := map[string]any{"product": "sales.orders", "ports": []string{"events"}, "consumer": map[string]string{"type": "application", "id": "dash"},
		"principal": "User:dash", "group_prefix": "dash-", "purpose": "orders dashboard"}
	id := post("/api/v1/access", marketingToken, req)["agreement_id"].(string)
	if _, err := read(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("reading with a pending request: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}

	if st := post("/api/v1/access/"+id+"/approve", salesToken, nil)["status"]; st != "GRANTED" {
		t.Fatalf("approved: %v", st)
	}
	if v, err := read(); err != nil || v != "order-1" {
		t.Fatalf("reading with an agreement: %q, %v", v, err)
	}
	if err := commit("dash-daily"); err != nil {
		t.Errorf("committing in group dash-daily of the agreement's prefix: %v", err)
	}
	if err := group("dash-weekly"); err != nil {
		t.Errorf("group dash-weekly of the agreement's prefix: %v", err)
	}
	if err := group("other-daily"); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Errorf("group other-daily: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}

	post("/api/v1/access/"+id+"/revoke", governanceToken, map[string]string{"reason": "dashboard retired"})
	if _, err := read(); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("reading after revocation: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	if err := group("dash-daily"); !errors.Is(err, kerr.GroupAuthorizationFailed) {
		t.Errorf("group dash-daily after revocation: %v, want GROUP_AUTHORIZATION_FAILED", err)
	}
}
