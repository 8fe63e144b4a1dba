package events

import "fmt"

// The governor publishes a PolicyViolation for every breach it opens or
// resolves and a ComplianceStatus for every product whose compliance
// changes, so these have encoders of their own too, in the style of
// appendQuality: the Avro binary encoding of schemas/avro/PolicyViolation.avsc
// and ComplianceStatus.avsc written field by field, checked byte for byte
// against hamba/avro by TestViolationEncoderMatchesHamba and
// TestComplianceEncoderMatchesHamba.

// Enum symbols in the order of the schemas.
var (
	scopeSymbols           = []string{string(ScopeGlobal), string(ScopeDomain)}
	severitySymbols        = []string{string(SeverityInfo), string(SeverityWarning), string(SeverityCritical)}
	violationStatusSymbols = []string{string(ViolationOpen), string(ViolationResolved)}
	complianceSymbols      = []string{string(Compliant), string(NonCompliant), string(Unknown)}
)

// appendViolation appends the Avro encoding of v, which passed Validate.
func appendViolation(b []byte, v *PolicyViolation) ([]byte, error) {
	b = appendString(b, v.ViolationID)
	b = appendString(b, v.ProductID)
	b = appendString(b, v.Domain)
	b = appendString(b, v.PolicyID)
	b = appendString(b, v.PolicyVersion)
	b, ok := appendEnum(b, string(v.Scope), scopeSymbols)
	if !ok {
		return nil, fmt.Errorf("scope: %q is not a PolicyScope", v.Scope)
	}
	if b, ok = appendEnum(b, string(v.Severity), severitySymbols); !ok {
		return nil, fmt.Errorf("severity: %q is not a Severity", v.Severity)
	}
	if b, ok = appendEnum(b, string(v.Status), violationStatusSymbols); !ok {
		return nil, fmt.Errorf("status: %q is not a ViolationStatus", v.Status)
	}
	b = appendString(b, v.Message)
	if len(v.Evidence) > 0 {
		// One block, in map order (hamba's order too: the order of a
		// map's entries means nothing to a reader).
		b = appendLong(b, int64(len(v.Evidence)))
		for k, val := range v.Evidence {
			b = appendString(appendString(b, k), val)
		}
	}
	b = appendLong(b, 0) // end of the evidence map
	b = appendString(b, v.SourceEventID)
	b = appendString(b, v.SourceTopic)
	b = appendLong(b, int64(v.SourcePartition))
	b = appendLong(b, v.SourceOffset)
	return appendLong(b, v.DetectedAt.UnixMilli()), nil
}

// appendCompliance appends the Avro encoding of c, which passed Validate.
func appendCompliance(b []byte, c *ComplianceStatus) ([]byte, error) {
	b = appendString(b, c.ProductID)
	b = appendString(b, c.ProductVersion)
	b = appendString(b, c.Domain)
	b, ok := appendEnum(b, string(c.Status), complianceSymbols)
	if !ok {
		return nil, fmt.Errorf("status: %q is not a Compliance", c.Status)
	}
	if len(c.OpenViolations) > 0 {
		b = appendLong(b, int64(len(c.OpenViolations))) // one block
		for i := range c.OpenViolations {
			o := &c.OpenViolations[i]
			b = appendString(b, o.ViolationID)
			b = appendString(b, o.PolicyID)
			if b, ok = appendEnum(b, string(o.Severity), severitySymbols); !ok {
				return nil, fmt.Errorf("open_violations[%d].severity: %q is not a Severity", i, o.Severity)
			}
			b = appendString(b, o.Message)
		}
	}
	b = appendLong(b, 0) // end of the open_violations array
	return appendLong(b, c.EvaluatedAt.UnixMilli()), nil
}
