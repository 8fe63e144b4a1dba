package product

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

// maxContact is the longest a developer or escalation entry may be.
const maxContact = 256

// slackChannelRE is a Slack channel name after "slack:#".
var slackChannelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,79}$`)

// errChannel is what CheckChannel says about a channel it cannot use.
const msgChannel = "must be mailto:<address>, slack:#<channel> or an https URL"

// CheckChannel reports whether s names a channel notices and requests can
// reach: "mailto:" and one e-mail address, "slack:#" and a channel name
// (lowercase letters, digits, '.', '_' or '-', at most 80 characters) or an
// absolute https URL (a webhook). The error says what is wrong and quotes s.
func CheckChannel(s string) error {
	switch {
	case strings.HasPrefix(s, "mailto:"):
		addr := strings.TrimPrefix(s, "mailto:")
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Address != addr {
			return fmt.Errorf("%s: %s is not one e-mail address", msgChannel, quote(s))
		}
		return nil
	case strings.HasPrefix(s, "slack:"):
		name, ok := strings.CutPrefix(strings.TrimPrefix(s, "slack:"), "#")
		if !ok || !slackChannelRE.MatchString(name) {
			return fmt.Errorf("%s: %s is not slack:#<channel> (lowercase letters, digits, '.', '_' or '-', at most 80 characters)", msgChannel, quote(s))
		}
		return nil
	case strings.HasPrefix(s, "https:"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || u.User != nil {
			return fmt.Errorf("%s: %s is not an absolute https URL without credentials", msgChannel, quote(s))
		}
		return nil
	case s == "":
		return errors.New(msgChannel + ", got an empty string")
	}
	return fmt.Errorf("%s, got %s", msgChannel, quote(s))
}

// checkContact reports what is wrong with a person or team named in the
// ownership, or "".
func checkContact(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "must not be blank"
	case len(s) > maxContact:
		return fmt.Sprintf("must be at most %d bytes, got %d", maxContact, len(s))
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Sprintf("must be one line without control characters, got %s", quote(s))
	}
	return ""
}

func validateOwnership(probs *problems, o *Ownership) {
	if o.Developer != "" {
		if msg := checkContact(o.Developer); msg != "" {
			probs.add("spec.ownership.developer", "%s", msg)
		}
	}
	seen := make(map[string]bool, len(o.EscalationPath))
	for i, e := range o.EscalationPath {
		path := indexPath("spec.ownership.escalationPath", i)
		switch msg := checkContact(e); {
		case msg != "":
			probs.add(path, "%s", msg)
		case seen[e]:
			probs.add(path, "duplicate entry %s", quote(e))
		}
		seen[e] = true
	}
	if o.Channel != "" {
		if err := CheckChannel(o.Channel); err != nil {
			probs.add("spec.ownership.channel", "%s", err)
		}
	}
}
