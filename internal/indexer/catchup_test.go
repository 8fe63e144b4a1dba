package indexer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meshbone/meshbone/internal/testkit"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// While the view lags behind the topics the indexer reports how far it is,
// and once it caught up it says so.
func TestCatchUpProgressIsLogged(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	ix := &Indexer{prog: newProgress(), log: zap.New(core)}
	k := tp{Topic: "mesh.product.lifecycle.v1", Partition: 0}
	ix.prog.assign(map[tp]int64{k: -1})
	ix.prog.setHWM(k, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ix.logCatchUp(ctx, 10*time.Millisecond)

	waitFor := func(msg string) observer.LoggedEntry {
		t.Helper()
		testkit.Eventually(t, func() bool { return logs.FilterMessage(msg).Len() > 0 }, fmt.Sprintf("a %q log line", msg))
		e := logs.FilterMessage(msg).All()
		return e[len(e)-1]
	}
	e := waitFor("catching up")
	if behind := e.ContextMap()["behind"]; behind != int64(1000) {
		t.Errorf("catching up says behind=%v, want 1000", behind)
	}
	ix.prog.commit(map[tp]int64{k: 999}, 1000)
	e = waitFor("caught up")
	if folded := e.ContextMap()["folded"]; folded != int64(1000) {
		t.Errorf("caught up says folded=%v, want 1000", folded)
	}
}
