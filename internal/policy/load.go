package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/meshbone/meshbone/pkg/events"
)

// Dirs says where policies live.
type Dirs struct {
	Global  string // directory of global policies (*.yaml, *.yml); "" for none
	Domains string // directory of one sub-directory per domain; "" for none
}

// RootDirs returns the standard layout under root: root/global and
// root/domains. When root has neither, root itself is read as a directory of
// global policies (handy to check a single new policy).
func RootDirs(root string) Dirs {
	g, d := filepath.Join(root, "global"), filepath.Join(root, "domains")
	if !isDir(g) && !isDir(d) {
		return Dirs{Global: root}
	}
	var dirs Dirs
	if isDir(g) {
		dirs.Global = g
	}
	if isDir(d) {
		dirs.Domains = d
	}
	return dirs
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Set is a loaded, compiled set of policies. It is immutable.
type Set struct {
	policies []*Policy
	byID     map[string]*Policy
	// global[trigger] = the global policies; byDomain[domain][trigger] =
	// the global policies followed by the domain's own.
	global   map[Trigger][]*Policy
	byDomain map[string]map[Trigger][]*Policy
	digest   string
}

// Policies returns every policy, global ones first, each group by id.
func (s *Set) Policies() []*Policy { return s.policies }

// Len returns the number of policies.
func (s *Set) Len() int { return len(s.policies) }

// Get returns the policy with the given id.
func (s *Set) Get(id string) (*Policy, bool) {
	p, ok := s.byID[id]
	return p, ok
}

// Digest is a short hash of every policy's id and version: it changes when
// any policy does.
func (s *Set) Digest() string { return s.digest }

// For returns the policies that judge events of trigger t about a product
// of domain: the global ones, then the domain's own.
func (s *Set) For(domain string, t Trigger) []*Policy {
	if d, ok := s.byDomain[domain][t]; ok {
		return d
	}
	return s.global[t]
}

// AppliesTo reports whether policy p is in force for products of domain.
func (s *Set) AppliesTo(p *Policy, domain string) bool {
	return p.Scope == events.ScopeGlobal || p.Domain == domain
}

// Load reads, decodes and compiles every policy under dirs. Any problem
// fails the whole load with a *LoadError listing every problem found.
func Load(dirs Dirs) (*Set, error) {
	var files []loaded
	var errs []*Error
	if dirs.Global == "" && dirs.Domains == "" {
		return nil, errors.New("policy: no policy directory given")
	}
	if dirs.Global != "" {
		f, e := readDir(dirs.Global, "")
		files, errs = append(files, f...), append(errs, e...)
	}
	if dirs.Domains != "" {
		entries, err := os.ReadDir(dirs.Domains)
		if err != nil && !(errors.Is(err, fs.ErrNotExist) && dirs.Global != "") {
			return nil, fmt.Errorf("policy: read domain policies: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			f, es := readDir(filepath.Join(dirs.Domains, e.Name()), e.Name())
			files, errs = append(files, f...), append(errs, es...)
		}
	}
	set, setErrs := build(files)
	errs = append(errs, setErrs...)
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	return set, nil
}

// LoadFiles compiles policies given as file contents: name -> data, where a
// name under "domains/<domain>/" is a domain policy and any other a global
// one. Used to check policies that do not live on disk.
func LoadFiles(files map[string][]byte) (*Set, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var all []loaded
	var errs []*Error
	for _, n := range names {
		domain := ""
		if rest, ok := strings.CutPrefix(filepath.ToSlash(n), "domains/"); ok {
			domain, _, _ = strings.Cut(rest, "/")
		}
		l, es := parse(n, files[n], domain)
		errs = append(errs, es...)
		if l != nil {
			all = append(all, *l)
		}
	}
	set, setErrs := build(all)
	errs = append(errs, setErrs...)
	if len(errs) > 0 {
		return nil, &LoadError{Errs: errs}
	}
	return set, nil
}

// loaded is a compiled policy and the directory domain it came from ("" for
// the global directory).
type loaded struct {
	p      *Policy
	dir    string
	idLine int
}

func readDir(dir, domain string) ([]loaded, []*Error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []*Error{{File: dir, Msg: err.Error()}}
	}
	var out []loaded
	var errs []*Error
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, &Error{File: path, Msg: err.Error()})
			continue
		}
		l, es := parse(path, data, domain)
		errs = append(errs, es...)
		if l != nil {
			out = append(out, *l)
		}
	}
	return out, errs
}

// parse decodes and compiles one file read from the directory of domain
// ("" for the global directory).
func parse(path string, data []byte, domain string) (*loaded, []*Error) {
	doc, errs := decodeFile(path, data)
	if errs != nil {
		return nil, errs
	}
	env, err := Env()
	if err != nil {
		return nil, []*Error{{File: path, Msg: "CEL environment: " + err.Error()}}
	}
	p, errs := compile(path, doc, env)
	scope := strings.ToLower(doc.Scope)
	fail := func(field, format string, args ...any) {
		errs = append(errs, &Error{File: path, Line: doc.lines[field], PolicyID: doc.ID, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if domain == "" {
		switch {
		case scope == "domain":
			fail("metadata.scope", "a domain policy belongs in the directory of its domain, not with the global policies")
		case doc.Domain != "":
			fail("metadata.domain", "a global policy names no domain (found %q)", doc.Domain)
		}
	} else {
		switch {
		case scope == "global":
			fail("metadata.scope", "a domain directory (%s) may not hold a global policy", domain)
		case doc.Domain == "":
			errs = append(errs, &Error{File: path, Line: doc.lines["metadata"], PolicyID: doc.ID, Field: "metadata.domain",
				Msg: fmt.Sprintf("is required for a domain policy (its directory says %q)", domain)})
		case doc.Domain != domain:
			fail("metadata.domain", "%q is not the domain of its directory (%q): a domain may only set policies for itself", doc.Domain, domain)
		}
		p.Scope = events.ScopeDomain
		p.Domain = domain
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &loaded{p: p, dir: domain, idLine: doc.lines["metadata.id"]}, nil
}

// build checks the set as a whole (unique ids, no domain override of a
// global policy) and indexes it.
func build(files []loaded) (*Set, []*Error) {
	var errs []*Error
	globals := map[string]*Policy{}
	for _, l := range files {
		if l.p.Scope != events.ScopeGlobal {
			continue
		}
		if prev, ok := globals[l.p.ID]; ok {
			errs = append(errs, &Error{File: l.p.File, Line: l.idLine, PolicyID: l.p.ID, Field: "metadata.id", Msg: "duplicate policy id (also in " + prev.File + ")"})
			continue
		}
		globals[l.p.ID] = l.p
	}
	s := &Set{byID: map[string]*Policy{}, global: map[Trigger][]*Policy{}, byDomain: map[string]map[Trigger][]*Policy{}}
	for _, p := range globals {
		s.byID[p.ID] = p
	}
	for _, l := range files {
		p := l.p
		if p.Scope == events.ScopeGlobal {
			continue
		}
		if g, ok := globals[p.ID]; ok {
			errs = append(errs, &Error{File: p.File, Line: l.idLine, PolicyID: p.ID, Field: "metadata.id",
				Msg: "a domain policy may not replace or disable the global policy of the same id (" + g.File + ")"})
			continue
		}
		if prev, ok := s.byID[p.ID]; ok {
			errs = append(errs, &Error{File: p.File, Line: l.idLine, PolicyID: p.ID, Field: "metadata.id", Msg: "duplicate policy id (also in " + prev.File + ")"})
			continue
		}
		s.byID[p.ID] = p
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for _, p := range s.byID {
		s.policies = append(s.policies, p)
	}
	sort.Slice(s.policies, func(i, j int) bool {
		a, b := s.policies[i], s.policies[j]
		if a.Scope != b.Scope {
			return a.Scope == events.ScopeGlobal
		}
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		return a.ID < b.ID
	})
	h := sha256.New()
	for _, p := range s.policies {
		fmt.Fprintf(h, "%s@%s\n", p.ID, p.Version)
		on := p.On
		if p.ReadsUpstream && p.Applies(TriggerLifecycle) {
			on = append(slices.Clip(on), TriggerUpstream)
		}
		for _, t := range on {
			if p.Scope == events.ScopeGlobal {
				s.global[t] = append(s.global[t], p)
				continue
			}
			if s.byDomain[p.Domain] == nil {
				s.byDomain[p.Domain] = map[Trigger][]*Policy{}
			}
			s.byDomain[p.Domain][t] = append(s.byDomain[p.Domain][t], p)
		}
	}
	// A domain's lists are made whole once, not at every For.
	for _, byT := range s.byDomain {
		for t, own := range byT {
			byT[t] = append(slices.Clip(s.global[t]), own...)
		}
	}
	s.digest = hex.EncodeToString(h.Sum(nil)[:6])
	return s, nil
}
