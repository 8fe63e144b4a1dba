package product_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshbone/meshbone/pkg/product"
)

// TestCheckChannel holds what each kind of channel accepts and the exact
// error for what it refuses.
func TestCheckChannel(t *testing.T) {
	const must = "must be mailto:<address>, slack:#<channel> or an https URL"
	tests := []struct{ in, want string }{
		{"mailto:orders@example.com", "<nil>"},
		{"slack:#orders-team", "<nil>"},
		{"slack:#data.sales_1", "<nil>"},
		{"https://hooks.example.com/notices/sales", "<nil>"},
		{"", must + ", got an empty string"},
		{"#orders", must + `, got "#orders"`},
		{"orders@example.com", must + `, got "orders@example.com"`},
		{"http://hooks.example.com/x", must + `, got "http://hooks.example.com/x"`},
		{"mailto:", must + `: "mailto:" is not one e-mail address`},
		{"mailto:a@example.com,b@example.com", must + `: "mailto:a@example.com,b@example.com" is not one e-mail address`},
		{"mailto:Ana <ana@example.com>", must + `: "mailto:Ana <ana@example.com>" is not one e-mail address`},
		{"slack:orders", must + `: "slack:orders" is not slack:#<channel> (lowercase letters, digits, '.', '_' or '-', at most 80 characters)`},
		{"slack:#Orders", must + `: "slack:#Orders" is not slack:#<channel> (lowercase letters, digits, '.', '_' or '-', at most 80 characters)`},
		{"slack:#" + strings.Repeat("a", 81), must + `: "slack:#` + strings.Repeat("a", 57) + `..." is not slack:#<channel> (lowercase letters, digits, '.', '_' or '-', at most 80 characters)`},
		{"https:///path", must + `: "https:///path" is not an absolute https URL without credentials`},
		{"https://user:pw@hooks.example.com/", must + `: "https://user:pw@hooks.example.com/" is not an absolute https URL without credentials`},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(product.CheckChannel(tt.in)); got != tt.want {
			t.Errorf("CheckChannel(%q):\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}
