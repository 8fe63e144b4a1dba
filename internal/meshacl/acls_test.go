package meshacl_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/meshbone/meshbone/internal/governor"
	"github.com/meshbone/meshbone/internal/meshacl"
	"github.com/meshbone/meshbone/internal/registrar"
	"github.com/meshbone/meshbone/pkg/events"
)

func lines(t *testing.T, o meshacl.Options) []string {
	t.Helper()
	acls, err := meshacl.Bindings(o)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(acls))
	for i, a := range acls {
		out[i] = string(a.Service) + " " + a.String()
	}
	return out
}

// TestBindings holds the ACLs of each service with a topic prefix: what
// the services do with Kafka, service by service (see the comments of
// registrarACLs and the others). The real-broker test in
// internal/clustertest runs the services with exactly these.
func TestBindings(t *testing.T) {
	o := meshacl.DefaultOptions()
	o.TopicPrefix = "p."
	o.Principals = map[meshacl.Service]string{meshacl.Registrar: "User:reg"}
	o.GovernorGroup = "gov"
	var creates []string
	for _, topic := range events.MeshTopics("p.").All() {
		creates = append(creates, topic)
	}
	want := []string{
		"registrar User:reg TOPIC PREFIXED p. CREATE,DELETE,ALTER_CONFIGS",
		"registrar User:reg TOPIC LITERAL p.mesh.product.lifecycle.v1 READ,WRITE",
		"registrar User:reg TOPIC LITERAL p." + registrar.LeaseTopic + " READ,WRITE",
		"registrar User:reg TOPIC LITERAL p.mesh.access.v1 READ,WRITE",
		"registrar User:reg TOPIC LITERAL p.mesh.notices.v1 READ,WRITE",
		"registrar User:reg TOPIC LITERAL p.mesh.audit.v1 WRITE",
		"registrar User:reg GROUP LITERAL p.meshbone-registrar-lease READ",
		"registrar User:reg TRANSACTIONAL_ID PREFIXED p.meshbone-registrar-writer WRITE",
		"registrar User:reg CLUSTER LITERAL kafka-cluster ALTER,IDEMPOTENT_WRITE",
		"governor User:meshbone-governor TOPIC LITERAL p.mesh.product.lifecycle.v1 READ,CREATE",
		"governor User:meshbone-governor TOPIC LITERAL p.mesh.product.quality.v1 READ,CREATE",
		"governor User:meshbone-governor TOPIC LITERAL p.mesh.governance.violations.v1 WRITE,CREATE",
		"governor User:meshbone-governor TOPIC LITERAL p.mesh.governance.compliance.v1 WRITE,CREATE",
		"governor User:meshbone-governor TOPIC LITERAL p.mesh.dlq.v1 WRITE,CREATE",
	}
	for _, topic := range creates {
		if !slices.ContainsFunc(want, func(l string) bool { return strings.HasPrefix(l, "governor ") && strings.Contains(l, " "+topic+" ") }) {
			want = append(want, "governor User:meshbone-governor TOPIC LITERAL "+topic+" CREATE")
		}
	}
	want = append(want,
		"governor User:meshbone-governor TOPIC LITERAL p."+governor.StateTopic+" READ,WRITE,CREATE",
		"governor User:meshbone-governor GROUP LITERAL gov READ",
		"governor User:meshbone-governor TRANSACTIONAL_ID PREFIXED gov WRITE",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.product.lifecycle.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.product.quality.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.governance.violations.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.governance.compliance.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.audit.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.access.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.notices.v1 READ",
		"indexer User:meshbone-indexer TOPIC LITERAL p.mesh.dlq.v1 WRITE",
		"indexer User:meshbone-indexer CLUSTER LITERAL kafka-cluster IDEMPOTENT_WRITE",
		"monitor User:meshbone-monitor TOPIC PREFIXED p. READ",
		"monitor User:meshbone-monitor TOPIC LITERAL p.mesh.product.quality.v1 WRITE,CREATE",
	)
	for _, topic := range creates {
		if topic != "p.mesh.product.quality.v1" {
			want = append(want, "monitor User:meshbone-monitor TOPIC LITERAL "+topic+" CREATE")
		}
	}
	want = append(want,
		"monitor User:meshbone-monitor TOPIC LITERAL p._meshbone.monitor.state.v1 READ,WRITE,CREATE",
		"monitor User:meshbone-monitor GROUP LITERAL meshbone-monitor READ",
		"monitor User:meshbone-monitor TRANSACTIONAL_ID PREFIXED meshbone-monitor WRITE",
	)
	if got := lines(t, o); !slices.Equal(got, want) {
		t.Errorf("ACLs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestBindingsStayUnderThePrefix: with a topic prefix every topic right,
// and the registrar's group and transactional ids, stop at the prefix;
// without one, only the registrar's topic management and the monitor's
// reading cover every topic (the wildcard), nothing else.
func TestBindingsStayUnderThePrefix(t *testing.T) {
	o := meshacl.DefaultOptions()
	o.TopicPrefix = "team-a."
	acls, err := meshacl.Bindings(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acls {
		underPrefix := a.ResourceType == meshacl.ResourceTopic || a.Service == meshacl.Registrar && a.ResourceType != meshacl.ResourceCluster
		if underPrefix && !strings.HasPrefix(a.ResourceName, "team-a.") {
			t.Errorf("%s %s: not under the prefix", a.Service, a)
		}
		if a.ResourceName == meshacl.AnyTopic {
			t.Errorf("%s %s: a wildcard despite the prefix", a.Service, a)
		}
	}

	acls, err = meshacl.Bindings(meshacl.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var wild []string
	for _, a := range acls {
		if a.ResourceName == meshacl.AnyTopic || a.PatternType == kadm.ACLPatternPrefixed && a.ResourceType == meshacl.ResourceTopic {
			wild = append(wild, string(a.Service)+" "+a.String())
		}
	}
	want := []string{
		"registrar User:meshbone-registrar TOPIC LITERAL * CREATE,DELETE,ALTER_CONFIGS",
		"monitor User:meshbone-monitor TOPIC LITERAL * READ",
	}
	if !slices.Equal(wild, want) {
		t.Errorf("rules on every topic without a prefix:\n%s\nwant\n%s", strings.Join(wild, "\n"), strings.Join(want, "\n"))
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*meshacl.Options)
		want string
	}{
		{"prefix with a slash", func(o *meshacl.Options) { o.TopicPrefix = "a/b" }, `topic-prefix: "a/b" holds a character Kafka does not allow in a topic name (letters, digits, . _ -)`},
		{"unknown service", func(o *meshacl.Options) { o.Services = []meshacl.Service{"catalog"} }, `service: "catalog" is not one of registrar, governor, indexer, monitor`},
		{"wildcard principal", func(o *meshacl.Options) { o.Principals = map[meshacl.Service]string{meshacl.Governor: "User:*"} }, `governor-principal: "User:*" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{"bare principal", func(o *meshacl.Options) { o.Principals = map[meshacl.Service]string{meshacl.Indexer: "indexer"} }, `indexer-principal: "indexer" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{"group principal", func(o *meshacl.Options) { o.Principals = map[meshacl.Service]string{meshacl.Monitor: "Group:ops"} }, `monitor-principal: "Group:ops" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{"two principals", func(o *meshacl.Options) {
			o.Principals = map[meshacl.Service]string{meshacl.Registrar: "User:a,User:b"}
		}, `registrar-principal: "User:a,User:b" is not User:<name> (letters, digits, . _ @ -; no wildcard)`},
		{"wildcard group", func(o *meshacl.Options) { o.GovernorGroup = "*" }, `governor-group: "*" is not of letters, digits, . _ -`},
		{"txn prefix with a space", func(o *meshacl.Options) { o.MonitorTxnPrefix = "mon itor" }, `monitor-txn-prefix: "mon itor" is not of letters, digits, . _ -`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := meshacl.DefaultOptions()
			tc.mod(&o)
			err := o.Validate()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Validate: %v, want %s", err, tc.want)
			}
			if acls, err := meshacl.Bindings(o); err == nil || acls != nil {
				t.Errorf("Bindings: %v %v, want the error and nothing", acls, err)
			}
		})
	}
	// The defaults follow the groups: the transactional id prefixes are
	// the groups given.
	o := meshacl.DefaultOptions()
	o.GovernorGroup, o.MonitorGroup = "g1", "m1"
	o.Services = []meshacl.Service{meshacl.Monitor, meshacl.Governor}
	got := lines(t, o)
	if !slices.Contains(got, "governor User:meshbone-governor TRANSACTIONAL_ID PREFIXED g1 WRITE") ||
		!slices.Contains(got, "monitor User:meshbone-monitor TRANSACTIONAL_ID PREFIXED m1 WRITE") ||
		!strings.HasPrefix(got[0], "governor ") || strings.HasPrefix(got[len(got)-1], "governor ") {
		t.Errorf("governor and monitor with groups g1, m1:\n%s", strings.Join(got, "\n"))
	}
}

func TestKafkaACLsArgs(t *testing.T) {
	acls, err := meshacl.Bindings(meshacl.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"registrar User:meshbone-registrar TOPIC LITERAL * CREATE,DELETE,ALTER_CONFIGS":               "--add --allow-principal User:meshbone-registrar --allow-host * --operation Create --operation Delete --operation AlterConfigs --topic *",
		"registrar User:meshbone-registrar TRANSACTIONAL_ID PREFIXED meshbone-registrar-writer WRITE": "--add --allow-principal User:meshbone-registrar --allow-host * --operation Write --transactional-id meshbone-registrar-writer --resource-pattern-type prefixed",
		"registrar User:meshbone-registrar CLUSTER LITERAL kafka-cluster ALTER,IDEMPOTENT_WRITE":      "--add --allow-principal User:meshbone-registrar --allow-host * --operation Alter --operation IdempotentWrite --cluster",
		"governor User:meshbone-governor GROUP LITERAL meshbone-governor READ":                        "--add --allow-principal User:meshbone-governor --allow-host * --operation Read --group meshbone-governor",
	}
	seen := 0
	for _, a := range acls {
		args := a.KafkaACLsArgs()
		if slices.Contains(args, "") {
			t.Errorf("%s: an empty argument in %q", a, args)
		}
		if w, ok := want[string(a.Service)+" "+a.String()]; ok {
			seen++
			if got := strings.Join(args, " "); got != w {
				t.Errorf("%s:\n%s\nwant\n%s", a, got, w)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the %d ACLs checked", seen, len(want))
	}
}

// TestApply creates every service's ACLs on a broker that enforces ACLs:
// the broker then holds exactly the bindings listed, one per operation;
// applying again changes nothing.
func TestApply(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser("SCRAM-SHA-256", "admin", "admin-pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.SASL(scram.Auth{User: "admin", Pass: "admin-pw"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	o := meshacl.DefaultOptions()
	o.TopicPrefix = "p."
	acls, err := meshacl.Bindings(o)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, a := range acls {
		for _, op := range a.Operations {
			want = append(want, fmt.Sprintf("%s %s %s %s %s", a.Principal, a.ResourceType, a.PatternType, a.ResourceName, op))
		}
	}
	sort.Strings(want)
	ctx := context.Background()
	for round := 1; round <= 2; round++ {
		n, err := meshacl.Apply(ctx, adm, acls)
		if err != nil || n != len(want) {
			t.Fatalf("round %d: Apply: %d %v, want %d bindings", round, n, err, len(want))
		}
		res, err := adm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternAny).
			Allow().AllowHosts().Operations(kadm.OpAny))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			for _, d := range r.Described {
				if d.Principal == "User:admin" {
					continue
				}
				got = append(got, fmt.Sprintf("%s %s %s %s %s", d.Principal, d.Type, d.Pattern, d.Name, d.Operation))
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: the broker holds\n%s\nwant\n%s", round, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
