package registrar

import (
	"cmp"
	"strconv"
	"strings"
)

// compareVersions orders two semantic versions by semver precedence (build
// metadata ignored): -1, 0 or +1. Both must be valid semver (the descriptor
// validation and the lifecycle contract see to it).
func compareVersions(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	aCore, aPre, _ := strings.Cut(a, "-")
	bCore, bPre, _ := strings.Cut(b, "-")
	as, bs := strings.Split(aCore, "."), strings.Split(bCore, ".")
	for i := 0; i < 3 && i < len(as) && i < len(bs); i++ {
		if c := compareNumeric(as[i], bs[i]); c != 0 {
			return c
		}
	}
	switch {
	case aPre == bPre:
		return 0
	case aPre == "": // a release ranks above its pre-releases
		return 1
	case bPre == "":
		return -1
	}
	ap, bp := strings.Split(aPre, "."), strings.Split(bPre, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		an, aErr := strconv.ParseUint(ap[i], 10, 64)
		bn, bErr := strconv.ParseUint(bp[i], 10, 64)
		var c int
		switch {
		case aErr == nil && bErr == nil:
			c = cmp.Compare(an, bn)
		case aErr == nil: // numeric identifiers rank below alphanumeric ones
			c = -1
		case bErr == nil:
			c = 1
		default:
			c = strings.Compare(ap[i], bp[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ap), len(bp))
}

func compareNumeric(a, b string) int {
	if c := cmp.Compare(len(a), len(b)); c != 0 { // no leading zeros in semver
		return c
	}
	return strings.Compare(a, b)
}

// majorOf returns the major version of a semantic version.
func majorOf(v string) string {
	major, _, _ := strings.Cut(v, ".")
	return major
}
