package product

import (
	"errors"
	"math"
	"regexp"
	"strconv"
	"time"
)

// leadingDays matches a duration that starts with a whole number of days.
var leadingDays = regexp.MustCompile(`^([0-9]+)d(.*)$`)

// ParseDuration parses an SLA duration: a Go duration (time.ParseDuration:
// "15m", "1h30m", "90s") optionally led by a whole number of days, "d" being
// 24 hours ("1d", "7d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	m := leadingDays.FindStringSubmatch(s)
	if m == nil {
		return time.ParseDuration(s)
	}
	days, err := strconv.ParseInt(m[1], 10, 64)
	const day = 24 * time.Hour
	if err != nil || days > math.MaxInt64/int64(day) {
		return 0, errors.New("duration " + strconv.Quote(s) + " is too long")
	}
	d := time.Duration(days) * day
	if m[2] == "" {
		return d, nil
	}
	rest, err := time.ParseDuration(m[2])
	if err != nil {
		return 0, errors.New("invalid duration " + strconv.Quote(s))
	}
	if rest < 0 || d > math.MaxInt64-rest {
		return 0, errors.New("invalid duration " + strconv.Quote(s))
	}
	return d + rest, nil
}
