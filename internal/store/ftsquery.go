package store

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on search text.
const (
	MaxQueryBytes = 512 // longer query text is refused
	MaxQueryTerms = 16  // more terms are refused
)

// FTSQuery turns user text into an FTS5 query that cannot carry FTS5
// syntax: the text is split into terms of letters, digits and marks (what
// the unicode61 tokenizer indexes), each term is quoted as a string, and
// the terms are ANDed. The last term matches as a prefix unless the text
// ends in a space, so results follow typing. Text without any term gives
// "" (no full-text condition). Invalid UTF-8, text over MaxQueryBytes and
// more than MaxQueryTerms terms are a *ParamError on field "q".
func FTSQuery(text string) (string, error) {
	if len(text) > MaxQueryBytes {
		return "", &ParamError{Field: "q", Message: "is longer than 512 bytes"}
	}
	if !utf8.ValidString(text) {
		return "", &ParamError{Field: "q", Message: "is not valid UTF-8"}
	}
	terms := strings.FieldsFunc(text, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r))
	})
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
	last, _ := utf8.DecodeLastRuneInString(text)
	if !unicode.IsSpace(last) {
		b.WriteByte('*')
	}
	return b.String(), nil
}
