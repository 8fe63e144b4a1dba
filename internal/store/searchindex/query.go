package searchindex

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on search text.
const (
	MaxQueryBytes = 512 // longer query text is refused
	MaxQueryTerms = 16  // more terms are refused
	// MinPrefix is the shortest last term matched as a prefix: shorter
	// prefixes match most of the catalog and cost the most to expand.
	MinPrefix = 3
)

// FTSQuery turns user text into the FTS5 query a search answers, one that
// cannot carry FTS5 syntax: the text is split into terms of letters, digits
// and marks (what the unicode61 tokenizer indexes), each term is quoted as
// a string, and the terms are ANDed. The last term matches as a prefix
// (when it has at least MinPrefix characters) unless the text ends in a
// space, so results follow typing. The index answers the query from its
// posting lists, FullText where it cannot (see Index.Search). Text without
// any term gives "" (no full-text condition). Invalid UTF-8, text over MaxQueryBytes and
// more than MaxQueryTerms terms are a *ParamError on field "q".
func FTSQuery(text string) (string, error) {
	if len(text) > MaxQueryBytes {
		return "", &ParamError{Field: "q", Message: "is longer than 512 bytes"}
	}
	if !utf8.ValidString(text) {
		return "", &ParamError{Field: "q", Message: "is not valid UTF-8"}
	}
	terms := queryFields(text)
	if len(terms) == 0 {
		return "", nil
	}
	if len(terms) > MaxQueryTerms {
		return "", &ParamError{Field: "q", Message: "has more than 16 terms"}
	}
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteByte(' ')
		}
		// A term holds only letters, digits and marks, so it has no quote
		// to escape.
		b.WriteByte('"')
		b.WriteString(t)
		b.WriteByte('"')
	}
	if prefixLast(text, terms[len(terms)-1]) {
		b.WriteByte('*')
	}
	return b.String(), nil
}

// queryFields splits user text into FTSQuery's terms.
func queryFields(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
	})
}

// prefixLast reports whether the last term of text matches as a prefix.
func prefixLast(text, last string) bool {
	r, _ := utf8.DecodeLastRuneInString(text)
	return !unicode.IsSpace(r) && utf8.RuneCountInString(last) >= MinPrefix
}
