// Package retain finds secrets that a value still reaches: the tests use it
// to show that a deleted key (RFC 9420 §9.2) is held by nothing that
// outlives its use, such as a process-wide suite registry.
package retain

import (
	"bytes"
	"fmt"
	"reflect"
)

// Find walks everything reachable from root — pointers, interfaces,
// struct fields (unexported ones too), slices, arrays and maps — and
// returns the path of the first byte slice or byte array that contains
// one of secrets, or "" if none does. Channels and functions are not
// followed (closures' captures are out of reflect's reach); it reads only,
// and holds a lock of root's only if root's own methods do.
func Find(root any, secrets ...[]byte) string {
	w := walker{secrets: secrets, seen: map[uintptr]bool{}}
	return w.walk(reflect.ValueOf(root), "root")
}

type walker struct {
	secrets [][]byte
	seen    map[uintptr]bool
}

func (w *walker) holds(b []byte) bool {
	for _, s := range w.secrets {
		if len(s) > 0 && bytes.Contains(b, s) {
			return true
		}
	}
	return false
}

func (w *walker) walk(v reflect.Value, path string) string {
	if !v.IsValid() {
		return ""
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.UnsafePointer:
		if v.IsNil() || w.seen[v.Pointer()] {
			return ""
		}
		w.seen[v.Pointer()] = true
		if v.Kind() == reflect.UnsafePointer {
			return ""
		}
		return w.walk(v.Elem(), path)
	case reflect.Interface:
		return w.walk(v.Elem(), path)
	case reflect.Struct:
		for i := range v.NumField() {
			if p := w.walk(v.Field(i), path+"."+v.Type().Field(i).Name); p != "" {
				return p
			}
		}
	case reflect.Slice:
		if v.IsNil() {
			return ""
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if w.holds(v.Bytes()) {
				return path
			}
			return ""
		}
		if w.seen[v.Pointer()] && v.Len() > 0 {
			return ""
		}
		w.seen[v.Pointer()] = true
		return w.elems(v, path)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			if w.holds(b) {
				return path
			}
			return ""
		}
		return w.elems(v, path)
	case reflect.Map:
		if v.IsNil() || w.seen[v.Pointer()] {
			return ""
		}
		w.seen[v.Pointer()] = true
		it := v.MapRange()
		for it.Next() {
			if p := w.walk(it.Key(), path+"[key]"); p != "" {
				return p
			}
			if p := w.walk(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key())); p != "" {
				return p
			}
		}
	case reflect.String:
		if w.holds([]byte(v.String())) {
			return path
		}
	}
	return ""
}

func (w *walker) elems(v reflect.Value, path string) string {
	for i := range v.Len() {
		if p := w.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); p != "" {
			return p
		}
	}
	return ""
}
