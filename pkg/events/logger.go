package events

import "github.com/twmb/franz-go/pkg/kgo"

// LogLevel is the severity of a log line.
type LogLevel int8

// Log levels.
const (
	LogLevelDebug LogLevel = iota - 1
	LogLevelInfo
	LogLevelWarn
	LogLevelError
)

// Logger receives the SDK's log lines; plug in zap, slog or anything else.
// keyvals alternate keys (strings) and values.
type Logger interface {
	Log(level LogLevel, msg string, keyvals ...any)
}

// LoggerFunc adapts a function to Logger.
type LoggerFunc func(level LogLevel, msg string, keyvals ...any)

// Log implements Logger.
func (f LoggerFunc) Log(level LogLevel, msg string, keyvals ...any) { f(level, msg, keyvals...) }

type nopLogger struct{}

func (nopLogger) Log(LogLevel, string, ...any) {}

// kgoLogger forwards franz-go's log lines to the SDK logger.
type kgoLogger struct{ l Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := LogLevelInfo
	switch level {
	case kgo.LogLevelError:
		lv = LogLevelError
	case kgo.LogLevelWarn:
		lv = LogLevelWarn
	case kgo.LogLevelDebug:
		lv = LogLevelDebug
	}
	k.l.Log(lv, msg, keyvals...)
}
