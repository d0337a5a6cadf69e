package notebook

import (
	"reflect"
	"testing"
)

func TestTableCells(t *testing.T) {
	type row struct {
		Name   string   `parquet:"name"`
		AUROC  float64  `parquet:"auroc"`
		Eps    *float64 `parquet:"epsilon,optional"`
		Count  int64    `json:"count"`
		hidden int
	}
	eps := 7.991234
	head, cells := tableCells(reflect.ValueOf([]row{{"a", 0.61234567, &eps, 3, 0}, {"b", 0.5, nil, 4, 0}}))
	if want := []string{"name", "auroc", "epsilon", "count"}; !reflect.DeepEqual(head, want) {
		t.Errorf("head %v, want %v", head, want)
	}
	if want := [][]string{{"a", "0.6123", "7.991", "3"}, {"b", "0.5", "n/a", "4"}}; !reflect.DeepEqual(cells, want) {
		t.Errorf("cells %v, want %v", cells, want)
	}
}
