package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/meshbone/meshbone/internal/meshacl"
)

// aclApplyTimeout bounds creating the ACLs.
const aclApplyTimeout = time.Minute

// aclCmd groups the commands about the Kafka ACLs of meshbone itself.
func aclCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "the Kafka ACLs meshbone's own services need",
	}
	cmd.AddCommand(aclBootstrapCmd(g))
	return cmd
}

func aclBootstrapCmd(g *globals) *cobra.Command {
	o := meshacl.DefaultOptions()
	o.Principals = map[meshacl.Service]string{}
	var (
		services  []string
		apply     bool
		kafkaACLs bool
	)
	principals := map[meshacl.Service]*string{}
	cmd := &cobra.Command{
		Use:   "bootstrap [--service NAME]... [--apply | --kafka-acls]",
		Short: "print (or create) the ACLs of the registrar, the governor, the indexer and the monitor",
		Long: "bootstrap lists the Kafka ACLs each meshbone service needs on a cluster that refuses what\n" +
			"no ACL allows (allow.everyone.if.no.acl.found=false), each service connecting as its own\n" +
			"principal (default User:meshbone-<service>). The names follow --topic-prefix and the\n" +
			"groups given. --kafka-acls prints them as kafka-acls.sh commands; --apply creates them\n" +
			"with the Kafka connection flags (a principal allowed to create ACLs, e.g. a super user).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if apply && kafkaACLs {
				return fmt.Errorf("--apply and --kafka-acls: give one: --apply creates the ACLs, --kafka-acls prints the commands that would")
			}
			if kafkaACLs && g.Output == "json" {
				return fmt.Errorf("--kafka-acls: prints kafka-acls.sh commands, not JSON: drop --output json")
			}
			o.TopicPrefix = g.Kafka.TopicPrefix
			for s, p := range principals {
				o.Principals[s] = *p
			}
			for _, name := range services {
				s, err := meshacl.ParseService(name)
				if err != nil {
					return fmt.Errorf("--service: %w", err)
				}
				o.Services = append(o.Services, s)
			}
			acls, err := meshacl.Bindings(o)
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			if kafkaACLs {
				return printKafkaACLs(g, o.TopicPrefix, acls)
			}
			if apply {
				n, err := applyACLs(cmd.Context(), g, acls)
				if err != nil {
					return err
				}
				defer fmt.Fprintf(g.err, "created %d ACL bindings (%d rules) on %s\n", n, len(acls), strings.Join(g.Kafka.Brokers, ","))
			}
			rows := make([][]string, 0, len(acls))
			for _, a := range acls {
				rows = append(rows, []string{string(a.Service), a.Principal, a.ResourceType, a.PatternType.String(), a.ResourceName, a.OperationNames()})
			}
			return g.print(aclList{ACLs: acls}, []string{"SERVICE", "PRINCIPAL", "RESOURCE", "PATTERN", "NAME", "OPERATIONS"}, rows)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&services, "service", nil, "only this service's ACLs: registrar, governor, indexer or monitor (repeat, or comma-separated; default all)")
	for _, s := range meshacl.Services {
		p := meshacl.DefaultPrincipal(s)
		principals[s] = &p
		f.StringVar(principals[s], string(s)+"-principal", p, "the principal the "+string(s)+" connects as")
	}
	f.StringVar(&o.GovernorGroup, "governor-group", o.GovernorGroup, "the governor's consumer group (its -group)")
	f.StringVar(&o.GovernorTxnPrefix, "governor-txn-prefix", "", "prefix of the governor's transactional ids (default the governor group)")
	f.StringVar(&o.MonitorGroup, "monitor-group", o.MonitorGroup, "the monitor's consumer group")
	f.StringVar(&o.MonitorTxnPrefix, "monitor-txn-prefix", "", "prefix of the monitor's transactional ids (default the monitor group)")
	f.BoolVar(&apply, "apply", false, "create the ACLs on the cluster of --kafka-brokers (creating one that exists changes nothing)")
	f.BoolVar(&kafkaACLs, "kafka-acls", false, "print kafka-acls.sh commands instead of the table")
	return cmd
}

// aclList is the JSON of acl bootstrap.
type aclList struct {
	ACLs []meshacl.ACL `json:"acls"`
}

func applyACLs(ctx context.Context, g *globals, acls []meshacl.ACL) (int, error) {
	kopts, err := g.Kafka.KgoOpts()
	if err != nil {
		return 0, err
	}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, aclApplyTimeout)
	defer cancel()
	return meshacl.Apply(ctx, kadm.NewClient(cl), acls)
}

// printKafkaACLs prints one kafka-acls.sh command per ACL rule.
func printKafkaACLs(g *globals, prefix string, acls []meshacl.ACL) error {
	fmt.Fprintf(g.out, "# The ACLs of meshbone's services (topic prefix %q), for kafka-acls.sh.\n", prefix)
	fmt.Fprintln(g.out, "# Add --command-config with the properties of a principal allowed to create ACLs.")
	bootstrap := shellQuote(strings.Join(g.Kafka.Brokers, ","))
	svc := meshacl.Service("")
	for _, a := range acls {
		if a.Service != svc {
			svc = a.Service
			fmt.Fprintf(g.out, "# %s\n", svc)
		}
		args := a.KafkaACLsArgs()
		for i, s := range args {
			args[i] = shellQuote(s)
		}
		if _, err := fmt.Fprintf(g.out, "kafka-acls.sh --bootstrap-server %s %s\n", bootstrap, strings.Join(args, " ")); err != nil {
			return err
		}
	}
	return nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9._:@/=,+-]+$`)

// shellQuote quotes s for a POSIX shell unless it needs none.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
