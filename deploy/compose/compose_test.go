// Package compose checks the docker-compose stack without Docker (this
// machine has no engine): the file's services, images, ports, health checks
// and dependency order, that every MESHBONE_* variable names a real flag of
// the service it is given to, and that the Dockerfile builds static binaries
// onto a small non-root image.
package compose

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/meshbone/meshbone/internal/ops"
)

type composeFile struct {
	Name string `json:"name"`
	// The shared environment of the meshbone services (a YAML anchor).
	MeshboneEnv map[string]any     `json:"x-meshbone-env"`
	Services    map[string]service `json:"services"`
	Volumes     map[string]any     `json:"volumes"`
}

type service struct {
	Image       string                                `json:"image"`
	Build       *struct{ Context, Dockerfile string } `json:"build"`
	Command     []string                              `json:"command"`
	Ports       []string                              `json:"ports"`
	Environment map[string]any                        `json:"environment"`
	DependsOn   map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Hostname    string `json:"hostname"`
	Healthcheck *struct {
		Test        []string `json:"test"`
		Interval    string   `json:"interval"`
		Timeout     string   `json:"timeout"`
		Retries     int      `json:"retries"`
		StartPeriod string   `json:"start_period"`
	} `json:"healthcheck"`
	Volumes []string `json:"volumes"`
}

func load(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.UnmarshalStrict(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// The services, what they run and the order they start in.
func TestComposeServices(t *testing.T) {
	c := load(t)
	want := map[string]struct {
		image, port string
		after       []string
	}{
		"kafka":           {"apache/kafka:", "9092:9092", nil},
		"schema-registry": {"confluentinc/cp-schema-registry:", "8081:8081", []string{"kafka"}},
		"registrar":       {"meshbone:", "8090:8090", []string{"kafka", "schema-registry"}},
		"governor":        {"meshbone:", "8091:8091", []string{"registrar"}},
		"indexer":         {"meshbone:", "8080:8080", []string{"registrar"}},
		"monitor":         {"meshbone:", "8092:8092", []string{"registrar"}},
	}
	if len(c.Services) != len(want) {
		t.Errorf("services %v, want exactly %d", keys(c.Services), len(want))
	}
	for name, w := range want {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s missing", name)
			continue
		}
		if !strings.HasPrefix(s.Image, w.image) {
			t.Errorf("%s: image %q, want %s*", name, s.Image, w.image)
		}
		if !slices.Contains(s.Ports, w.port) {
			t.Errorf("%s: ports %v, want %s", name, s.Ports, w.port)
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
			t.Errorf("%s: no health check", name)
		}
		for _, dep := range w.after {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != "service_healthy" {
				t.Errorf("%s: does not wait for %s to be healthy", name, dep)
			}
		}
	}
	for _, name := range []string{"registrar", "governor", "indexer", "monitor"} {
		s := c.Services[name]
		if s.Build == nil || s.Build.Dockerfile != "deploy/compose/Dockerfile" || s.Build.Context != "../.." {
			t.Errorf("%s: not built from deploy/compose/Dockerfile with the repository as context", name)
		}
		if len(s.Command) != 1 || s.Command[0] != "/usr/local/bin/"+name {
			t.Errorf("%s: command %v", name, s.Command)
		}
		if hc := strings.Join(s.Healthcheck.Test, " "); !strings.Contains(hc, "meshctl probe") || !strings.Contains(hc, "/readyz") {
			t.Errorf("%s: health check %q does not probe /readyz", name, hc)
		}
	}
	kafka := c.Services["kafka"].Environment
	if kafka["KAFKA_PROCESS_ROLES"] != "broker,controller" {
		t.Errorf("kafka is not a KRaft broker+controller: %v", kafka["KAFKA_PROCESS_ROLES"])
	}
	if _, ok := c.Services["registrar"].Environment["MESHBONE_TOKEN_FILE"]; !ok {
		t.Error("registrar has no token file")
	}
	if _, err := os.Stat("tokens.yaml"); err != nil {
		t.Errorf("the registrar's token file: %v", err)
	}
}

var flagLine = regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`)

// Every MESHBONE_* variable given to a service is the environment name of
// one of its flags (a typo would be silently ignored by the service).
func TestComposeEnvironmentMatchesFlags(t *testing.T) {
	c := load(t)
	bin := t.TempDir()
	for _, name := range []string{"registrar", "governor", "indexer", "monitor"} {
		exe := filepath.Join(bin, name)
		if out, err := exec.Command("go", "build", "-o", exe, "../../cmd/"+name).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
		usage, _ := exec.Command(exe, "-h").CombinedOutput()
		flags := map[string]bool{}
		for _, m := range flagLine.FindAllStringSubmatch(string(usage), -1) {
			flags[ops.EnvName(m[1])] = true
		}
		if len(flags) < 5 {
			t.Fatalf("%s -h listed %d flags:\n%s", name, len(flags), usage)
		}
		env := c.Services[name].Environment
		for k := range env {
			if strings.HasPrefix(k, ops.EnvPrefix) && !flags[k] {
				t.Errorf("%s: %s is not the environment name of any of its flags", name, k)
			}
		}
		for _, need := range []string{"MESHBONE_KAFKA_BROKERS", "MESHBONE_REGISTRY_URL"} {
			if _, ok := env[need]; !ok {
				t.Errorf("%s: %s not set", name, need)
			}
		}
	}
}

// The image: multi-stage, static binaries, distroless, non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	if n := strings.Count(d, "\nFROM ") + strings.Count(d[:4], "FROM"); n < 2 {
		t.Errorf("%d stages, want a multi-stage build", n)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/registrar", "./cmd/governor", "./cmd/indexer", "./cmd/monitor", "./cmd/meshctl", "distroless/static", "USER nonroot"} {
		if !strings.Contains(d, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}
