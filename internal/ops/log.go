package ops

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/meshbone/meshbone/pkg/events"
)

// NewLogger returns a zap logger at level ("debug", "info", "warn",
// "error"), as JSON lines when json is set, else human-readable console lines.
func NewLogger(level string, json bool) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log-level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	if !json {
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	return cfg.Build()
}

// EventsLogger adapts a zap logger to the SDK's Logger.
func EventsLogger(l *zap.Logger) events.Logger {
	s := l.Sugar()
	return events.LoggerFunc(func(level events.LogLevel, msg string, keyvals ...any) {
		switch level {
		case events.LogLevelDebug:
			s.Debugw(msg, keyvals...)
		case events.LogLevelInfo:
			s.Infow(msg, keyvals...)
		case events.LogLevelWarn:
			s.Warnw(msg, keyvals...)
		default:
			s.Errorw(msg, keyvals...)
		}
	})
}
