package notebook

import (
	"fmt"
	"html"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// tableCells formats a slice of structs: column names from the parquet
// tags (else json tags, else field names), numbers to 4 significant digits,
// absent optional values (a TPR without support, no epsilon) as "n/a".
func tableCells(v reflect.Value) (head []string, cells [][]string) {
	t := v.Type().Elem()
	var fields []int
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		for _, tag := range []string{"parquet", "json"} {
			if n, _, _ := strings.Cut(f.Tag.Get(tag), ","); n != "" && n != "-" {
				name = n
				break
			}
		}
		head = append(head, name)
		fields = append(fields, i)
	}
	for r := 0; r < v.Len(); r++ {
		row := make([]string, len(fields))
		for j, i := range fields {
			row[j] = formatValue(v.Index(r).Field(i))
		}
		cells = append(cells, row)
	}
	return head, cells
}

func formatValue(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "n/a"
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) {
			return "-"
		}
		return strconv.FormatFloat(f, 'g', 4, 64)
	case reflect.String:
		return v.String()
	default:
		return fmt.Sprint(v.Interface())
	}
}

// tableHTML is a plain HTML table with a caption.
func tableHTML(caption string, head []string, cells [][]string) string {
	var b strings.Builder
	b.WriteString(`<table style="border-collapse:collapse;font-size:90%"><caption style="text-align:left;font-weight:bold">`)
	b.WriteString(html.EscapeString(caption))
	b.WriteString("</caption><thead><tr>")
	for _, h := range head {
		fmt.Fprintf(&b, `<th style="border-bottom:1px solid #999;padding:2px 8px;text-align:left">%s</th>`, html.EscapeString(h))
	}
	b.WriteString("</tr></thead><tbody>")
	for _, row := range cells {
		b.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(&b, `<td style="padding:2px 8px">%s</td>`, html.EscapeString(c))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table>")
	return b.String()
}
