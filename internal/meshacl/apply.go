package meshacl

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Builder returns the kadm builder that creates exactly a.
func (a ACL) Builder() *kadm.ACLBuilder {
	b := kadm.NewACLs().Allow(a.Principal).AllowHosts(a.Host).ResourcePatternType(a.PatternType).Operations(a.Operations...)
	switch a.ResourceType {
	case ResourceTopic:
		b.Topics(a.ResourceName)
	case ResourceGroup:
		b.Groups(a.ResourceName)
	case ResourceTransactionalID:
		b.TransactionalIDs(a.ResourceName)
	case ResourceCluster:
		b.Clusters()
	}
	return b
}

// String is the ACL as one line: "User:x TOPIC LITERAL name READ,WRITE".
func (a ACL) String() string {
	return fmt.Sprintf("%s %s %s %s %s", a.Principal, a.ResourceType, a.PatternType, a.ResourceName, a.OperationNames())
}

// OperationNames is the operations comma-separated, as Kafka names them.
func (a ACL) OperationNames() string {
	names := make([]string, len(a.Operations))
	for i, op := range a.Operations {
		names[i] = op.String()
	}
	return strings.Join(names, ",")
}

// Apply creates acls (creating an ACL that exists is a no-op, so Apply may
// run again) and returns how many bindings it created, one per operation;
// it stops at the first the brokers refuse.
func Apply(ctx context.Context, adm *kadm.Client, acls []ACL) (int, error) {
	n := 0
	for _, a := range acls {
		res, err := adm.CreateACLs(ctx, a.Builder())
		for _, r := range res {
			err = cmp.Or(err, r.Err)
		}
		if err != nil {
			return n, fmt.Errorf("create the ACL of the %s %s: %w", a.Service, a, err)
		}
		n += len(res)
	}
	return n, nil
}

// kafkaACLsOps are the operation names kafka-acls.sh takes.
var kafkaACLsOps = map[kadm.ACLOperation]string{
	kadm.OpRead: "Read", kadm.OpWrite: "Write", kadm.OpCreate: "Create", kadm.OpDelete: "Delete",
	kadm.OpAlter: "Alter", kadm.OpDescribe: "Describe", kadm.OpDescribeConfigs: "DescribeConfigs",
	kadm.OpAlterConfigs: "AlterConfigs", kadm.OpIdempotentWrite: "IdempotentWrite",
}

// KafkaACLsArgs returns the arguments of kafka-acls.sh (after the
// connection options) that add a.
func (a ACL) KafkaACLsArgs() []string {
	args := []string{"--add", "--allow-principal", a.Principal, "--allow-host", a.Host}
	for _, op := range a.Operations {
		args = append(args, "--operation", kafkaACLsOps[op])
	}
	switch a.ResourceType {
	case ResourceTopic:
		args = append(args, "--topic", a.ResourceName)
	case ResourceGroup:
		args = append(args, "--group", a.ResourceName)
	case ResourceTransactionalID:
		args = append(args, "--transactional-id", a.ResourceName)
	case ResourceCluster:
		args = append(args, "--cluster")
	}
	if a.PatternType == kadm.ACLPatternPrefixed {
		args = append(args, "--resource-pattern-type", "prefixed")
	}
	return args
}
