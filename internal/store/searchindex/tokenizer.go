package searchindex

import (
	"unicode"
	"unicode/utf8"
)

// FTS5Tokenizer is the tokenizer of the full-text table the index answers
// for (the store's products_fts): the one Tokenizer is learned from.
const FTS5Tokenizer = `unicode61 remove_diacritics 2`

// Rune kinds of the tokenizer.
const (
	runeSep   = iota + 1 // separates tokens
	runeAlnum            // a token character, folded
	runeInner            // a token character only inside a token (combining diacritics), folded
)

// runeInfo is what the tokenizer does with one learned rune.
type runeInfo struct {
	kind uint8
	fold rune // 0: dropped
}

// Tokenizer splits text into tokens as FTS5Tokenizer does: ASCII as
// unicode61 does (letters and digits, lower-cased), every other rune it
// has learned (see LearnTokenizer) as FTS5 showed it does. It is the one
// tokenizer of the index: matching and ranking both read its tokens.
type Tokenizer struct {
	runes map[rune]runeInfo
}

// tokens calls fn with each token of text (fn must copy what it keeps),
// building them in buf, which it returns for reuse. It reports false if
// text holds a rune the tokenizer has not learned: FTS5 may split such text
// otherwise, so it is good for ranking but not for matching. An unlearned
// rune is read by its Unicode class: a letter, number or mark continues a
// token (lower-cased; a nonspacing mark is dropped), anything else
// separates.
func (t *Tokenizer) tokens(buf []byte, text string, fn func(tok []byte)) ([]byte, bool) {
	out, in, known := buf[:0], false, true
	emit := func() {
		if len(out) > 0 {
			fn(out)
		}
		out, in = out[:0], false
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
				out, in = append(out, c), true
			case c >= 'A' && c <= 'Z':
				out, in = append(out, c+('a'-'A')), true
			case in:
				emit()
			}
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		info, ok := t.runes[r]
		if !ok || (r == utf8.RuneError && n == 1) {
			known = false
			info = classify(r, n)
		}
		switch info.kind {
		case runeSep:
			if in {
				emit()
			}
		case runeAlnum:
			if info.fold != 0 {
				out = utf8.AppendRune(out, info.fold)
			}
			in = true
		case runeInner:
			if in && info.fold != 0 {
				out = utf8.AppendRune(out, info.fold)
			}
		}
	}
	if in {
		emit()
	}
	return out, known
}

// classify reads a rune the tokenizer has not learned (n is its length in
// the text) by its Unicode class.
func classify(r rune, n int) runeInfo {
	switch {
	case r == utf8.RuneError && n == 1:
		return runeInfo{kind: runeSep}
	case unicode.Is(unicode.Mn, r):
		return runeInfo{kind: runeAlnum}
	case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
		return runeInfo{kind: runeAlnum, fold: unicode.ToLower(r)}
	}
	return runeInfo{kind: runeSep}
}
