package parse

import (
	"bytes"
	"encoding/json"
)

// Item is one record extracted from a page by a Rule. Encoded as JSON it is
// one object: "url", "rule", then the fields in rule order.
type Item struct {
	// URL is the page's URL (after redirects).
	URL string
	// Rule is the name of the rule that extracted it.
	Rule string
	// Fields are the rule's fields, in order.
	Fields Record
}

// Record is an ordered list of named values. A value is a string, a
// float64 (after a "number" transform), nil (no value), a []any of strings
// and float64s (a List field), or a []Record (a field with nested fields).
type Record []Field

// Field is one named value of a Record.
type Field struct {
	Name  string
	Value any
}

// Get returns the value named name and whether there is such a field.
func (r Record) Get(name string) (any, bool) {
	for _, f := range r {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// MarshalJSON encodes the record as one JSON object, keys in order.
func (r Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if err := r.appendFields(&b, false); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// MarshalJSON encodes the item as {"url":…,"rule":…, fields…}.
func (it Item) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"url":`)
	if err := encodeJSON(&b, it.URL); err != nil {
		return nil, err
	}
	b.WriteString(`,"rule":`)
	if err := encodeJSON(&b, it.Rule); err != nil {
		return nil, err
	}
	if err := it.Fields.appendFields(&b, true); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (r Record) appendFields(b *bytes.Buffer, comma bool) error {
	for _, f := range r {
		if comma {
			b.WriteByte(',')
		}
		comma = true
		if err := encodeJSON(b, f.Name); err != nil {
			return err
		}
		b.WriteByte(':')
		if err := encodeJSON(b, f.Value); err != nil {
			return err
		}
	}
	return nil
}

// encodeJSON appends v without HTML escaping and without the newline
// json.Encoder adds.
func encodeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}
