package storage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	gormlogger "gorm.io/gorm/logger"
)

// slowQuery is how long a statement may take before it is logged.
const slowQuery = 500 * time.Millisecond

// gormLogger sends gorm's few messages to slog and logs slow statements. It
// never logs a statement's values: ParamsFilter drops them, so the SQL that
// reaches Trace has its placeholders. Failed statements are not logged here;
// their errors are returned to the caller, who decides.
type gormLogger struct {
	log *slog.Logger
}

func newGormLogger(log *slog.Logger) gormLogger {
	return gormLogger{log: log.With("component", "storage")}
}

var _ gormlogger.Interface = gormLogger{}

// LogMode implements gormlogger.Interface; the level is slog's business.
func (l gormLogger) LogMode(gormlogger.LogLevel) gormlogger.Interface { return l }

// Info implements gormlogger.Interface.
func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

// Warn implements gormlogger.Interface.
func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

// Error implements gormlogger.Interface.
func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm: "+fmt.Sprintf(msg, args...))
}

// Trace implements gormlogger.Interface: only slow statements are logged.
func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	elapsed := time.Since(begin)
	if elapsed < slowQuery {
		return
	}
	sql, rows := fc()
	l.log.WarnContext(ctx, "slow database statement", "elapsed_ms", elapsed.Milliseconds(), "rows", rows, "sql", sql)
}

// ParamsFilter implements gorm.ParamsFilter: statements are logged without
// their values, which may be personal data.
func (l gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
