//go:build cluster

package clustertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshbone/meshbone/internal/testkit"
)

// TestSCRAMListenerAuthorizes checks the cluster's SASL_PLAINTEXT listener:
// the admin user (a super user) gets in with its password and not without
// it, and a user with no ACLs is refused by the StandardAuthorizer until an
// ACL allows it.
func TestSCRAMListenerAuthorizes(t *testing.T) {
	c := newCluster(t)
	seeds := saslBrokers(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := func(user, pass string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
			kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()),
			kgo.RequestRetries(1), kgo.RetryTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}

	admin := kadm.NewClient(client("admin", "admin-secret"))
	if _, err := admin.ListTopics(ctx, c.env.Topics.Lifecycle); err != nil {
		t.Fatalf("admin over SCRAM: %v", err)
	}
	if _, err := kadm.NewClient(client("admin", "wrong")).ListTopics(ctx); err == nil {
		t.Fatal("admin with a wrong password was let in")
	}

	user := testkit.Unique(t, "u")
	if _, err := admin.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: user, Mechanism: kadm.ScramSha512, Password: "pw-" + user}}); err != nil {
		t.Fatalf("create SCRAM user: %v", err)
	}
	topic := c.env.Topics.Audit
	// A record remembers the context it was first produced with: a new one
	// each try.
	rec := func() *kgo.Record { return &kgo.Record{Topic: topic, Key: []byte("k"), Value: []byte("v")} }
	// A new SCRAM user reaches every broker shortly after it is created:
	// retry while the broker does not know it yet.
	var err error
	for i := 0; i < 20; i++ {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = client(user, "pw-"+user).ProduceSync(pctx, rec()).FirstErr()
		cancel()
		if !errors.Is(err, kerr.SaslAuthenticationFailed) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce without an ACL: %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	acl := kadm.NewACLs().Allow("User:"+user).AllowHosts().Topics(topic).ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpWrite, kadm.OpDescribe)
	if _, err := admin.CreateACLs(ctx, acl); err != nil {
		t.Fatalf("create ACL: %v", err)
	}
	for i := 0; i < 20; i++ {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = client(user, "pw-"+user).ProduceSync(pctx, rec()).FirstErr()
		cancel()
		if err == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("produce with a WRITE ACL: %v", err)
	}
}
