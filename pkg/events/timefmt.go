package events

import (
	"sync/atomic"
	"time"
)

// second is one second formatted, "2006-01-02T15:04:05": the part of ce_time
// that the events of a busy publisher share (hundreds of thousands a second).
type second struct {
	unix int64
	text [19]byte
}

// lastSecond caches the second formatted last.
var lastSecond atomic.Pointer[second]

// appendTime appends t in UTC as time.RFC3339Nano formats it (fraction
// without trailing zeros): the ce_time header of every record. It is the
// standard library's result at a third of the cost; TestAppendTime checks
// they agree. Years outside 0000–9999 go to the standard library.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if s := lastSecond.Load(); s != nil && s.unix == t.Unix() {
		b = append(b, s.text[:]...)
	} else {
		year, month, day := t.Date()
		if year < 0 || year > 9999 {
			return t.AppendFormat(b, time.RFC3339Nano)
		}
		hour, min, sec := t.Clock()
		s := &second{unix: t.Unix()}
		f := s.text[:0]
		f = append4(f, year)
		f = append(f, '-')
		f = append2(f, int(month))
		f = append(f, '-')
		f = append2(f, day)
		f = append(f, 'T')
		f = append2(f, hour)
		f = append(f, ':')
		f = append2(f, min)
		f = append(f, ':')
		f = append2(f, sec)
		lastSecond.Store(s)
		b = append(b, s.text[:]...)
	}
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := 8; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, '.')
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func append4(b []byte, v int) []byte {
	return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}
