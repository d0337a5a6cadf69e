package train

import (
	"maps"
	"slices"
	"strconv"
)

func sortedNames[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
