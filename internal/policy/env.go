package policy

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/meshbone/meshbone/pkg/product"
)

// The types below are what CEL expressions see. They mirror the mesh
// contracts with the Avro field names (cel tags) and value semantics: an
// absent optional record or string is its zero value.

// Product is a DataProduct as policies see it (variable product).
type Product struct {
	ID               string            `cel:"id"`
	Name             string            `cel:"name"`
	Domain           string            `cel:"domain"`
	OwnerTeam        string            `cel:"owner_team"`
	Description      string            `cel:"description"`
	Tags             []string          `cel:"tags"`
	DocumentationURL string            `cel:"documentation_url"`
	Version          string            `cel:"version"`
	Sensitivity      string            `cel:"sensitivity"`
	RetentionDays    int64             `cel:"retention_days"`
	SLA              SLA               `cel:"sla"`
	QualitySLOs      []QualitySLO      `cel:"quality_slos"`
	OutputPorts      []OutputPort      `cel:"output_ports"`
	Inputs           []string          `cel:"inputs"`
	Ownership        Ownership         `cel:"ownership"`
	Security         Security          `cel:"security"`
	Labels           map[string]string `cel:"labels"`

	cel  []atomic.Value // ref.Val: the fields above as CEL read them, by position, once read (see fieldCache)
	self ref.Val        // the product as CEL sees it, made once (nil: made per event)
}

// SLA is a product's service levels.
type SLA struct {
	Freshness    string  `cel:"freshness"`
	Availability float64 `cel:"availability"`
}

// QualitySLO is a quality objective: observed <operator> threshold. One
// with a port is measured on the port's records (by meshbone's monitor),
// per window; one without is reported by the product's pipelines.
type QualitySLO struct {
	Dimension string  `cel:"dimension"`
	Operator  string  `cel:"operator"`
	Threshold float64 `cel:"threshold"`
	Port      string  `cel:"port"`
	Column    string  `cel:"column"`
	Rule      string  `cel:"rule"`
	Window    string  `cel:"window"`
}

// OutputPort is a product's output topic.
type OutputPort struct {
	Name          string   `cel:"name"`
	Topic         string   `cel:"topic"`
	SchemaSubject string   `cel:"schema_subject"`
	SchemaID      int64    `cel:"schema_id"`
	Format        string   `cel:"format"`
	Partitions    int64    `cel:"partitions"`
	Fields        []string `cel:"fields"`
}

// Ownership names the people responsible for a product.
type Ownership struct {
	TechnicalOwner string `cel:"technical_owner"`
	BusinessOwner  string `cel:"business_owner"`
	Steward        string `cel:"steward"`
	OnCall         string `cel:"on_call"`
	Developer      string `cel:"developer"`
	// EscalationPath is whom to turn to, in order; empty when none.
	EscalationPath []string `cel:"escalation_path"`
	// Channel is where notices and access requests reach the owners.
	Channel string `cel:"channel"`
}

// Security is a product's declared security controls.
type Security struct {
	EncryptionAtRest bool     `cel:"encryption_at_rest"`
	PIIFields        []string `cel:"pii_fields"`
	PIIMasked        bool     `cel:"pii_masked"`
	AuditLogging     bool     `cel:"audit_logging"`
}

// Event is the event being judged (variable event).
type Event struct {
	Kind          string    `cel:"kind"`
	Type          string    `cel:"type"`
	ID            string    `cel:"id"`
	Source        string    `cel:"source"`
	SourceDomain  string    `cel:"source_domain"`
	Subject       string    `cel:"subject"`
	Time          time.Time `cel:"time"`
	Actor         string    `cel:"actor"`
	Reason        string    `cel:"reason"`
	Successor     string    `cel:"successor"`
	SunsetAt      time.Time `cel:"sunset_at"`
	ProductID     string    `cel:"product_id"`
	ProductDomain string    `cel:"product_domain"`
	ProductKnown  bool      `cel:"product_known"`
	Watermark     time.Time `cel:"watermark"`
	// UpstreamID and UpstreamChange name, for a re-judgement (kind
	// "upstream"), the input whose change asked for it and how it changed
	// (REGISTERED, UPDATED, VERSION_PUBLISHED, DEPRECATED, RETIRED); empty
	// for other kinds.
	UpstreamID     string `cel:"upstream_id"`
	UpstreamChange string `cel:"upstream_change"`

	cel [eventFields]atomic.Value // ref.Val: the fields above as CEL read them, by position, once read (see fieldCache)
}

// Quality is a quality event (variable quality).
type Quality struct {
	EventID        string         `cel:"event_id"`
	ProductID      string         `cel:"product_id"`
	ProductVersion string         `cel:"product_version"`
	RunID          string         `cel:"run_id"`
	ObservedAt     time.Time      `cel:"observed_at"`
	DataWatermark  time.Time      `cel:"data_watermark"`
	Checks         []QualityCheck `cel:"checks"`
	// Origin is REPORTED (the domain's pipeline; also when the event says
	// nothing) or OBSERVED (meshbone's monitor).
	Origin string `cel:"origin"`
	// Port, WindowStart and WindowEnd are what an observed run measured:
	// one port's records of event time in [window_start, window_end).
	Port        string    `cel:"port"`
	WindowStart time.Time `cel:"window_start"`
	WindowEnd   time.Time `cel:"window_end"`
}

// QualityCheck is one check of a quality run.
type QualityCheck struct {
	// Port is the port of the run the check belongs to ("" for a run that
	// names none): what matches it with the port's objectives.
	Port      string  `cel:"port"`
	Name      string  `cel:"name"`
	Dimension string  `cel:"dimension"`
	Column    string  `cel:"column"`
	Observed  float64 `cel:"observed"`
	Operator  string  `cel:"operator"`
	Threshold float64 `cel:"threshold"`
	Passed    bool    `cel:"passed"`
}

// Observation is the newest value the monitor observed for one check of a
// product (variable observations): the checks of the newest observed run of
// each port and window length, in the order of port, window, dimension,
// column and name.
type Observation struct {
	Port string `cel:"port" json:"port"`
	// Window is the length of the run's window ("1h0m0s"): a port's
	// objectives of different windows are measured in runs of their own.
	Window    string  `cel:"window" json:"window,omitempty"`
	Name      string  `cel:"name" json:"name"`
	Dimension string  `cel:"dimension" json:"dimension"`
	Column    string  `cel:"column" json:"column,omitempty"`
	Observed  float64 `cel:"observed" json:"observed"`
	EventID   string  `cel:"event_id" json:"event_id"`
}

// Upstream is one of the product's inputs as the mesh knows it (variable
// upstream).
type Upstream struct {
	ID     string `cel:"id"`
	Known  bool   `cel:"known"`
	Status string `cel:"status"`
}

// Access is an access request as policies see it (variable access; zero
// for other triggers).
type Access struct {
	AgreementID     string    `cel:"agreement_id"`
	ProductID       string    `cel:"product_id"`
	Ports           []string  `cel:"ports"`
	ConsumerType    string    `cel:"consumer_type"` // TEAM, APPLICATION, DATA_PRODUCT
	ConsumerID      string    `cel:"consumer_id"`
	ConsumerDomain  string    `cel:"consumer_domain"`
	Principal       string    `cel:"principal"`
	GroupPrefix     string    `cel:"group_prefix"`
	Purpose         string    `cel:"purpose"`
	RequestedBy     string    `cel:"requested_by"`
	RequesterDomain string    `cel:"requester_domain"` // "" for governance
	ValidFrom       time.Time `cel:"valid_from"`
	ValidUntil      time.Time `cel:"valid_until"` // zero: until revoked
}

// Upstream statuses.
const (
	StatusActive     = "ACTIVE"
	StatusDeprecated = "DEPRECATED"
	StatusRetired    = "RETIRED"
	StatusUnknown    = "UNKNOWN"
)

// Names of the CEL variables.
const (
	VarProduct  = "product"
	VarEvent    = "event"
	VarQuality  = "quality"
	VarUpstream = "upstream"
	VarNow      = "now"
	VarAccess   = "access"
	// VarObservations is the newest observed value of each of the
	// product's checks (see Observation), for quality events.
	VarObservations = "observations"
)

var (
	envOnce sync.Once
	envVal  *cel.Env
	envErr  error
)

// celType is the CEL name of a mirror type ("policy.Product").
func celType(v any) *cel.Type {
	t := reflect.TypeOf(v)
	return cel.ObjectType(t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:] + "." + t.Name())
}

// Env returns the CEL environment every policy expression is compiled in.
func Env() (*cel.Env, error) {
	envOnce.Do(func() { envVal, envErr = newEnv() })
	return envVal, envErr
}

func newEnv() (*cel.Env, error) {
	checkT, sloT, qualityT, obsT := celType(QualityCheck{}), celType(QualitySLO{}), celType(Quality{}), celType(Observation{})
	return cel.NewEnv(
		ext.NativeTypes(ext.ParseStructTags(true),
			reflect.TypeOf(Product{}), reflect.TypeOf(Event{}), reflect.TypeOf(Quality{}), reflect.TypeOf(Upstream{}), reflect.TypeOf(Access{}), reflect.TypeOf(Observation{})),
		ext.Strings(),
		cel.OptionalTypes(),
		cel.Variable(VarProduct, celType(Product{})),
		cel.Variable(VarEvent, celType(Event{})),
		cel.Variable(VarQuality, celType(Quality{})),
		cel.Variable(VarUpstream, cel.ListType(celType(Upstream{}))),
		cel.Variable(VarNow, cel.TimestampType),
		cel.Variable(VarAccess, celType(Access{})),
		cel.Variable(VarObservations, cel.ListType(celType(Observation{}))),
		cel.Function("meets_slos",
			cel.Overload("meets_slos_check_list", []*cel.Type{checkT, cel.ListType(sloT)}, cel.BoolType,
				cel.BinaryBinding(func(c, l ref.Val) ref.Val {
					check, slos, err := checkAndSLOs(c, l)
					if err != nil {
						return types.WrapErr(err)
					}
					return types.Bool(MeetsSLOs(check, slos))
				}))),
		cel.Function("slo_breaches",
			cel.Overload("slo_breaches_list_list", []*cel.Type{cel.ListType(checkT), cel.ListType(sloT)}, cel.ListType(cel.StringType),
				cel.BinaryBinding(func(cs, l ref.Val) ref.Val {
					checks, err := cs.ConvertToNative(reflect.TypeFor[[]QualityCheck]())
					if err != nil {
						return types.WrapErr(err)
					}
					slos, err := l.ConvertToNative(reflect.TypeFor[[]QualitySLO]())
					if err != nil {
						return types.WrapErr(err)
					}
					return types.DefaultTypeAdapter.NativeToValue(SLOBreaches(checks.([]QualityCheck), slos.([]QualitySLO)))
				}))),
		cel.Function("observed_differences",
			cel.Overload("observed_differences_quality_list_double", []*cel.Type{qualityT, cel.ListType(obsT), cel.DoubleType}, cel.ListType(cel.StringType),
				cel.FunctionBinding(func(args ...ref.Val) ref.Val {
					q, err := args[0].ConvertToNative(reflect.TypeFor[*Quality]())
					if err != nil {
						return types.WrapErr(err)
					}
					obs, ok := args[1].Value().([]Observation)
					if !ok {
						ov, err := args[1].ConvertToNative(reflect.TypeFor[[]Observation]())
						if err != nil {
							return types.WrapErr(err)
						}
						obs = ov.([]Observation)
					}
					tol, ok := args[2].(types.Double)
					if !ok {
						return types.MaybeNoSuchOverloadErr(args[2])
					}
					return types.DefaultTypeAdapter.NativeToValue(ObservedDifferences(q.(*Quality), obs, float64(tol)))
				}))),
		cel.Function("mesh_duration",
			cel.Overload("mesh_duration_string", []*cel.Type{cel.StringType}, cel.DurationType,
				cel.UnaryBinding(func(s ref.Val) ref.Val {
					str, ok := s.(types.String)
					if !ok {
						return types.MaybeNoSuchOverloadErr(s)
					}
					d, err := product.ParseDuration(string(str))
					if err != nil {
						return types.NewErr("mesh_duration: %v", err)
					}
					return types.Duration{Duration: d}
				}))),
		// Last: options before it may register types, which needs the
		// provider to be the registry itself.
		cacheFields,
	)
}

func checkAndSLOs(c, l ref.Val) (QualityCheck, []QualitySLO, error) {
	// The values are usually the Go values themselves (a check of
	// quality.checks, product.quality_slos), read as they are rather than
	// converted to a copy.
	check, ok := c.Value().(QualityCheck)
	if !ok {
		cv, err := c.ConvertToNative(reflect.TypeFor[QualityCheck]())
		if err != nil {
			return QualityCheck{}, nil, err
		}
		check = cv.(QualityCheck)
	}
	slos, ok := l.Value().([]QualitySLO)
	if !ok {
		lv, err := l.ConvertToNative(reflect.TypeFor[[]QualitySLO]())
		if err != nil {
			return QualityCheck{}, nil, err
		}
		slos = lv.([]QualitySLO)
	}
	return check, slos, nil
}

// sloMatches reports whether objective s is one check c is judged against:
// of c's dimension and c's run's port ("" for both: an objective the
// pipelines report), and of c's column when s names one.
func sloMatches(c *QualityCheck, s *QualitySLO) bool {
	return s.Dimension == c.Dimension && s.Port == c.Port && (s.Column == "" || s.Column == c.Column)
}

// judgedAgainst calls f with each objective c is judged against: the
// objectives sloMatches; when several match (a port's validity rules), those
// among them whose operator and threshold the check carries (the objective
// the monitor measured it for), if any. It reports whether it found one.
func judgedAgainst(c *QualityCheck, slos []QualitySLO, f func(*QualitySLO) bool) bool {
	n, same := 0, 0
	for i := range slos {
		if s := &slos[i]; sloMatches(c, s) {
			n++
			if s.Operator == c.Operator && s.Threshold == c.Threshold {
				same++
			}
		}
	}
	narrow := n > 1 && same > 0
	for i := range slos {
		s := &slos[i]
		if !sloMatches(c, s) || (narrow && (s.Operator != c.Operator || s.Threshold != c.Threshold)) {
			continue
		}
		if !f(s) {
			break
		}
	}
	return n > 0
}

// MeetsSLOs reports whether the check's observed value satisfies every
// objective it is judged against (see judgedAgainst: the objectives of its
// dimension and its run's port, and of its column when they name one);
// with none, whether the check passed.
func MeetsSLOs(c QualityCheck, slos []QualitySLO) bool {
	ok := true
	found := judgedAgainst(&c, slos, func(s *QualitySLO) bool {
		ok = Compare(c.Observed, s.Operator, s.Threshold)
		return ok
	})
	return ok && (found || c.Passed)
}

// SLOBreaches describes each check that does not meet its SLOs.
func SLOBreaches(checks []QualityCheck, slos []QualitySLO) []string {
	out := []string{}
	for _, c := range checks {
		if MeetsSLOs(c, slos) {
			continue
		}
		// Six significant digits: a measured 0.93 may arrive as 0.9299999999999999.
		desc := fmt.Sprintf("%s (%s %.6g, check failed)", c.Name, c.Dimension, c.Observed)
		judgedAgainst(&c, slos, func(s *QualitySLO) bool {
			if Compare(c.Observed, s.Operator, s.Threshold) {
				return true
			}
			desc = fmt.Sprintf("%s (%s %.6g, SLO %s %.6g)", c.Name, c.Dimension, c.Observed, s.Operator, s.Threshold)
			return false
		})
		out = append(out, desc)
	}
	return out
}

// Compare reports whether observed <op> threshold; an unknown operator is
// false.
func Compare(observed float64, op string, threshold float64) bool {
	switch op {
	case ">=":
		return observed >= threshold
	case ">":
		return observed > threshold
	case "<=":
		return observed <= threshold
	case "<":
		return observed < threshold
	case "==":
		return observed == threshold
	}
	return false
}
