package devstack

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is an embedded single-node Kafka (kfake) persisting to a directory.
type Broker struct {
	*kfake.Cluster
}

// StartBroker starts the broker on 127.0.0.1:port (0 picks a free port),
// reloading whatever an earlier run left in dataDir.
func StartBroker(dataDir string, port int) (*Broker, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("broker data directory: %w", err)
	}
	if port != 0 { // fail with a clear message rather than kfake's
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("kafka port %d is taken (is another meshctl dev or Kafka running?): %w", port, err)
		}
		ln.Close()
	}
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.DataDir(dataDir),
		kfake.DefaultNumPartitions(3),
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, _ := net.SplitHostPort(addr)
			return net.Listen(network, net.JoinHostPort("127.0.0.1", p))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("start embedded broker: %w", err)
	}
	return &Broker{c}, nil
}

// Addrs are the broker's bootstrap addresses.
func (b *Broker) Addrs() []string { return b.ListenAddrs() }
