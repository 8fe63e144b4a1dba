package governor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshbone/meshbone/internal/policy"
)

// watchPolicies reloads the policies when their files change (polling their
// names, sizes and modification times: no file-notification dependency).
func (s *Service) watchPolicies(ctx context.Context) {
	t := time.NewTicker(s.opts.PolicyPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.reloadMu.Lock()
		if sig := policyFilesSig(s.opts.Policies); sig != s.filesSig {
			s.log.Info("policy files changed; reloading")
			_ = s.reloadLocked() // logged; the old set stays on failure
		}
		s.reloadMu.Unlock()
	}
}

// policyFilesSig describes the policy files: path, size and modification
// time of each.
func policyFilesSig(d policy.Dirs) string {
	var lines []string
	add := func(dir string) {
		_ = filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
				return nil
			}
			if info, err := e.Info(); err == nil {
				lines = append(lines, fmt.Sprintf("%s %d %d", path, info.Size(), info.ModTime().UnixNano()))
			}
			return nil
		})
	}
	if d.Global != "" {
		add(d.Global)
	}
	if d.Domains != "" {
		add(d.Domains)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func prometheusNop() prometheus.Registerer { return prometheus.NewRegistry() }
