package governor

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// kgoLogEvery is how often one franz-go message is logged at most: while a
// broker is down the client warns at every retry, several times a second.
const kgoLogEvery = 10 * time.Second

// kgoLogger forwards franz-go's warnings and errors to zap (its info lines,
// one per transaction, would drown the log), each message at most once per
// kgoLogEvery with the number of repeats it stood for.
type kgoLogger struct {
	l *zap.Logger

	mu   sync.Mutex
	seen map[string]*logSeen // by message
}

type logSeen struct {
	at      time.Time
	repeats int
}

func newKgoLogger(l *zap.Logger) *kgoLogger {
	return &kgoLogger{l: l.With(zap.String("component", "kafka")), seen: map[string]*logSeen{}}
}

func (k *kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (k *kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	if level > kgo.LogLevelWarn {
		return
	}
	now := time.Now()
	k.mu.Lock()
	s := k.seen[msg]
	if s != nil && now.Sub(s.at) < kgoLogEvery {
		s.repeats++
		k.mu.Unlock()
		return
	}
	repeats := 0
	if s == nil {
		if len(k.seen) > 1000 { // messages are constants; bound it anyway
			clear(k.seen)
		}
		s = &logSeen{}
		k.seen[msg] = s
	}
	repeats, s.at, s.repeats = s.repeats, now, 0
	k.mu.Unlock()
	log := k.l.Sugar()
	if repeats > 0 {
		keyvals = append(keyvals, "repeated_since_last_logged", repeats)
	}
	if level == kgo.LogLevelError {
		log.Errorw(msg, keyvals...)
	} else {
		log.Warnw(msg, keyvals...)
	}
}
