package main

// meshctl notices: the notices the registrar sent to consumers and
// downstream products, read from Kafka (read_committed), to the end of the
// topic or followed.

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meshbone/meshbone/pkg/events"
)

var noticeHeader = []string{"TIME", "PRODUCT", "TYPE", "RECIPIENT", "CHANNEL", "MESSAGE"}

// noticeWidths are the column widths of notices printed as they arrive.
var noticeWidths = []int{20, 24, 13, 36, 24}

// recipientLabel names a notice's recipient as meshctl access list names
// consumers (application:campaign-dashboard), or downstream:<product id>.
func recipientLabel(r events.NoticeRecipient) string {
	if r.Type == events.RecipientDownstream {
		return "downstream:" + r.ID
	}
	c := events.AccessConsumer{ID: r.ID}
	if r.ConsumerType != nil {
		c.Type = *r.ConsumerType
	}
	if r.ConsumerID != nil {
		c.ID = *r.ConsumerID
	}
	return consumerLabel(c)
}

func noticeRow(n *events.Notice) []string {
	channel := "-"
	if n.Recipient.Channel != nil {
		channel = *n.Recipient.Channel
	}
	return []string{n.IssuedAt.UTC().Format(time.RFC3339), n.ProductID, string(n.Type), recipientLabel(n.Recipient), channel, strings.Join(strings.Fields(n.Message), " ")}
}

// noticeFilter selects notices by --consumer and --product.
type noticeFilter struct{ consumer, product string }

// match: --product is the product's id; --consumer is the recipient's
// label (application:campaign-dashboard, downstream:marketing.campaigns),
// its consumer id (campaign-dashboard, marketing.campaigns) or its
// agreement id.
func (f noticeFilter) match(n *events.Notice) bool {
	if f.product != "" && n.ProductID != f.product {
		return false
	}
	if f.consumer == "" {
		return true
	}
	r := n.Recipient
	return f.consumer == r.ID || f.consumer == recipientLabel(r) || (r.ConsumerID != nil && f.consumer == *r.ConsumerID)
}

func noticesCmd(g *globals) *cobra.Command {
	var (
		f      noticeFilter
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "notices [--consumer X] [--product ID] [--follow]",
		Short: "print the notices sent to consumers and downstream products",
		Long: `Print the registrar's notices -- DEPRECATED, RETIRED, MAJOR_VERSION and
SUNSET_SOON, each to one access agreement or one downstream product -- read
from mesh.notices.v1 with read_committed isolation from the start. Without
--follow it stops at the end of the topic; with --follow it prints new
notices as they arrive until interrupted.

--consumer takes the recipient as the RECIPIENT column shows it
(application:campaign-dashboard, downstream:marketing.campaigns), its id
alone (campaign-dashboard, marketing.campaigns) or an agreement id.`,
		Example: `  meshctl notices --consumer application:campaign-dashboard
  meshctl notices --product sales.customer-orders --follow -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kopts, codec, err := g.kafkaCodec()
			if err != nil {
				return err
			}
			return topicTable(cmd.Context(), g, kopts, codec, codec.Topics().Notices, follow,
				noticeHeader, noticeWidths, f.match, noticeRow)
		},
	}
	cmd.Flags().StringVar(&f.consumer, "consumer", "", "only notices to this recipient (TYPE:ID, ID or agreement id)")
	cmd.Flags().StringVar(&f.product, "product", "", "only notices about this product")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new notices until interrupted")
	return cmd
}
