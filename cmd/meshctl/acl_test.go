package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshbone/meshbone/internal/meshacl"
)

// TestACLBootstrap: the table, the JSON and the kafka-acls.sh commands list
// the same ACLs as meshacl.Bindings for the flags given; bad flags are
// refused naming the flag.
func TestACLBootstrap(t *testing.T) {
	o := meshacl.DefaultOptions()
	o.TopicPrefix = "prod."
	o.GovernorGroup = "gov-eu"
	o.Principals = map[meshacl.Service]string{meshacl.Indexer: "User:idx"}
	want, err := meshacl.Bindings(o)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"acl", "bootstrap", "--topic-prefix", "prod.", "--governor-group", "gov-eu", "--indexer-principal", "User:idx"}

	out, err := meshctl(t, append(flags, "-o", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var got aclList
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !slices.EqualFunc(got.ACLs, want, func(a, b meshacl.ACL) bool {
		return a.String() == b.String() && a.Service == b.Service && a.Why == b.Why
	}) {
		t.Errorf("JSON lists\n%v\nwant\n%v", got.ACLs, want)
	}

	out, err = meshctl(t, flags...)
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != len(want)+1 || strings.Join(strings.Fields(rows[0]), " ") != "SERVICE PRINCIPAL RESOURCE PATTERN NAME OPERATIONS" {
		t.Fatalf("table of %d lines, want a header and %d rows:\n%s", len(rows), len(want), out)
	}
	for i, a := range want {
		if got, w := strings.Join(strings.Fields(rows[i+1]), " "), string(a.Service)+" "+a.String(); got != w {
			t.Errorf("row %d: %s, want %s", i+1, got, w)
		}
	}

	out, err = meshctl(t, "acl", "bootstrap", "--kafka-acls", "--service", "monitor", "--kafka-brokers", "k1:9092,k2:9092")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	mon, _ := meshacl.Bindings(meshacl.Options{Services: []meshacl.Service{meshacl.Monitor}})
	if len(cmds) != len(mon) {
		t.Fatalf("%d commands for the monitor's %d ACLs:\n%s", len(cmds), len(mon), out)
	}
	if w := "kafka-acls.sh --bootstrap-server k1:9092,k2:9092 --add --allow-principal User:meshbone-monitor --allow-host '*' --operation Read --topic '*'"; cmds[0] != w {
		t.Errorf("first command:\n%s\nwant\n%s", cmds[0], w)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--service", "catalog"}, `--service: "catalog" is not one of registrar, governor, indexer, monitor`},
		{[]string{"--governor-principal", "User:*"}, `--governor-principal: "User:*" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{[]string{"--topic-prefix", "a b"}, `--topic-prefix: "a b" holds a character Kafka does not allow in a topic name (letters, digits, . _ -)`},
		{[]string{"--monitor-group", "mon*"}, `--monitor-group: "mon*" is not of letters, digits, . _ -`},
		{[]string{"--apply", "--kafka-acls"}, "--apply and --kafka-acls: give one: --apply creates the ACLs, --kafka-acls prints the commands that would"},
		{[]string{"--kafka-acls", "-o", "json"}, "--kafka-acls: prints kafka-acls.sh commands, not JSON: drop --output json"},
	} {
		_, err := meshctl(t, append([]string{"acl", "bootstrap"}, tc.args...)...)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %s", tc.args, err, tc.want)
		}
	}
}

// TestACLBootstrapApply creates the ACLs on a broker that enforces ACLs,
// as its super user: the broker holds them; a second run changes nothing;
// a user that may not create ACLs is refused and the error says which.
func TestACLBootstrapApply(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", "admin", "admin-pw"), kfake.User("SCRAM-SHA-256", "nobody", "nobody-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := strings.Join(cluster.ListenAddrs(), ",")
	as := func(user string) []string {
		return []string{"acl", "bootstrap", "--apply", "--service", "indexer", "--topic-prefix", "p.", "--kafka-brokers", brokers,
			"--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", user, "--kafka-sasl-password", user + "-pw"}
	}
	want, _ := meshacl.Bindings(meshacl.Options{TopicPrefix: "p.", Services: []meshacl.Service{meshacl.Indexer}})
	ops := 0
	for _, a := range want {
		ops += len(a.Operations)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.SASL(scram.Auth{User: "admin", Pass: "admin-pw"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	held := func() int {
		res, err := kadm.NewClient(cl).DescribeACLs(context.Background(), kadm.NewACLs().Allow("User:meshbone-indexer").AllowHosts().
			AnyResource().ResourcePatternType(kadm.ACLPatternAny).Operations(kadm.OpAny))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range res {
			n += len(r.Described)
		}
		return n
	}
	for round := 1; round <= 2; round++ {
		out, err := meshctl(t, as("admin")...)
		if err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, out)
		}
		if !strings.Contains(out, fmt.Sprintf("created %d ACL bindings (%d rules) on %s", ops, len(want), brokers)) || held() != ops {
			t.Errorf("round %d: the broker holds %d ACLs, want %d:\n%s", round, held(), ops, out)
		}
	}
	_, err = meshctl(t, as("nobody")...)
	if err == nil || !strings.HasPrefix(err.Error(), "create the ACL of the indexer User:meshbone-indexer TOPIC LITERAL p.mesh.product.lifecycle.v1 READ: ") ||
		!strings.Contains(err.Error(), "CLUSTER_AUTHORIZATION_FAILED") {
		t.Errorf("apply as a user without ALTER on the cluster: %v", err)
	}
}
