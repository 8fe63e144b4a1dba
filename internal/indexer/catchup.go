package indexer

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// CatchUpLogInterval is how often the indexer reports its progress while it
// is behind the topics (a --rebuild, or a restart after a long stop).
const CatchUpLogInterval = 5 * time.Second

// logCatchUp logs, every interval while the view lags behind the
// topics, how far it is and how fast it goes, and once when it has caught up.
func (ix *Indexer) logCatchUp(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	lastFolded, behind := ix.prog.status().EventsFolded, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := ix.prog.status()
		var lag int64
		known := false
		for _, p := range s.Partitions {
			if p.Lag >= 0 {
				lag += p.Lag
				known = true
			}
		}
		rate := float64(s.EventsFolded-lastFolded) / every.Seconds()
		lastFolded = s.EventsFolded
		switch {
		case known && lag > 0:
			behind = true
			eta := time.Duration(0)
			if rate > 0 {
				eta = time.Duration(float64(lag) / rate * float64(time.Second)).Round(time.Second)
			}
			ix.log.Info("catching up", zap.Int64("folded", s.EventsFolded), zap.Int64("behind", lag),
				zap.Float64("events_per_s", rate), zap.Duration("eta", eta))
		case behind && known:
			behind = false
			ix.log.Info("caught up", zap.Int64("folded", s.EventsFolded))
		}
	}
}
