package product_test

import (
	"errors"
	"fmt"

	"github.com/meshbone/meshbone/pkg/product"
)

func ExampleParse() {
	doc := []byte(`
apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: customer-orders, owner: sales-data-team}
spec:
  version: 2.1.0
  sensitivity: confidential
  retentionDays: 730
  sla: {freshness: 15m, availability: 99.95}
  outputPorts:
    - name: orders
      partitions: 6
      schema:
        type: record
        name: Order
        fields:
          - {name: order_id, type: string}
          - {name: email, type: string}
  security: {encryptionAtRest: true, piiFields: [email], piiMasked: true, auditLogging: true}
`)
	d, err := product.Parse(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := d.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	e := d.ToEvent()
	fmt.Println(e.ID, e.Version, e.Sensitivity)
	for _, p := range e.OutputPorts {
		fmt.Println(p.Topic, p.SchemaSubject, p.Partitions, p.Fields)
	}
	// Output:
	// sales.customer-orders 2.1.0 CONFIDENTIAL
	// sales.customer-orders.orders.v2 sales.customer-orders.orders.v2-value 6 [order_id email]
}

func ExampleValidationError() {
	doc := []byte(`
apiVersion: meshbone/v1
kind: DataProduct
metadata: {domain: sales, name: customer-orders, owner: sales-data-team}
spec:
  version: 2.1.0
  sensitivity: secret
  retentionDays: 730
  quality: [{dimension: completeness, operator: ">=", threshold: 98}]
  outputPorts: [{name: orders, schema: '{"type": "record", "name": "Order", "fields": []}'}]
`)
	d, err := product.Parse(doc)
	if err == nil {
		err = d.Validate()
	}
	var verr *product.ValidationError
	if errors.As(err, &verr) {
		fmt.Println("first problem at", verr.Path())
		for _, fe := range verr.Errors {
			fmt.Println(fe)
		}
	}
	// Output:
	// first problem at spec.sensitivity
	// spec.sensitivity: must be one of public, internal, confidential, restricted, got "secret"
	// spec.quality[0].threshold: must be a number between 0 and 1, got 98
}
