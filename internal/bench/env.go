package main

import (
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func newEnv() (*Env, func(), error) {
	reg := srfake.New()
	env := &Env{Registry: reg.URL()}
	if addrs := os.Getenv("MESH_TEST_KAFKA"); addrs != "" {
		env.Backend, env.Brokers = "kafka", strings.Split(addrs, ",")
		return env, reg.Close, nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(3))
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	env.Backend, env.Brokers = "kfake", c.ListenAddrs()
	return env, func() { c.Close(); reg.Close() }, nil
}
