// Package tables renders API objects as meta.k8s.io/v1 Tables with the columns
// kubectl users know from Kubernetes' own printers (pkg/printers/internalversion):
// the same column names, types, priorities and cell formats, written for the
// versioned k8s.io/api types drydock serves.
//
// kubectl asks for a Table with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints the
// columns it gets; priority-1 columns only with `-o wide`. Kubernetes' API
// server always sends the wide columns and leaves the choice to kubectl, so the
// REST handler should pass Options{Wide: true}.
package tables

import (
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/drydock-sim/drydock/core/api"
)

// Values of Options.IncludeObject (the includeObject query parameter).
const (
	IncludeNone     = "None"
	IncludeMetadata = "Metadata"
	IncludeObject   = "Object"
)

// Options controls Table rendering.
type Options struct {
	// Wide includes the priority-1 columns (the ones kubectl shows only with
	// -o wide). Kubernetes' API server always includes them: pass true when
	// serving kubectl. False drops them, as Kubernetes' printers do for
	// non-wide output.
	Wide bool
	// IncludeObject says what each row's object is: "" or "Metadata" a
	// meta.k8s.io/v1 PartialObjectMetadata (the default), "Object" the full
	// object, "None" nothing. Other values give a BadRequest error.
	IncludeObject string
	// Now is the reference time for ages; zero means time.Now().
	Now time.Time
}

// printer renders one resource's rows. row returns every column's cell, in
// the order of columns (wide ones included).
type printer struct {
	columns []metav1.TableColumnDefinition
	row     func(obj api.Object, now time.Time) ([]interface{}, []metav1.TableRowCondition, error)
}

// printers by group/resource. Resources without a printer get Kubernetes'
// default table: Name and Created At.
var printers = map[string]printer{}

func register(r *api.Resource, p printer) { printers[r.GroupResource().String()] = p }

// Columns returns the column definitions Table uses for r.
func Columns(r *api.Resource, wide bool) []metav1.TableColumnDefinition {
	p := printerFor(r)
	return filterColumns(p.columns, wide)
}

func printerFor(r *api.Resource) printer {
	if p, ok := printers[r.GroupResource().String()]; ok {
		return p
	}
	return defaultPrinter
}

func filterColumns(cols []metav1.TableColumnDefinition, wide bool) []metav1.TableColumnDefinition {
	out := make([]metav1.TableColumnDefinition, 0, len(cols))
	for _, c := range cols {
		if !wide && c.Priority != 0 {
			continue
		}
		out = append(out, c)
	}
	return out
}

// Table renders objs (all of resource r) as a Table, one row per object in
// the given order. The Table's list metadata (resourceVersion, continue) is
// left for the caller to fill from its list.
func Table(r *api.Resource, objs []api.Object, opts Options) (*metav1.Table, error) {
	switch opts.IncludeObject {
	case "", IncludeMetadata, IncludeObject, IncludeNone:
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unrecognized includeObject value: %q", opts.IncludeObject))
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p := printerFor(r)
	t := &metav1.Table{
		TypeMeta:          metav1.TypeMeta{Kind: "Table", APIVersion: metav1.SchemeGroupVersion.String()},
		ColumnDefinitions: filterColumns(p.columns, opts.Wide),
		Rows:              make([]metav1.TableRow, 0, len(objs)),
	}
	for _, obj := range objs {
		if obj == nil {
			return nil, fmt.Errorf("tables: nil object in %s list", r.Name)
		}
		cells, conds, err := p.row(obj, now)
		if err != nil {
			return nil, fmt.Errorf("tables: %s %s/%s: %w", r.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
		if len(cells) != len(p.columns) {
			panic(fmt.Sprintf("tables: %s printer gave %d cells for %d columns", r.Name, len(cells), len(p.columns)))
		}
		if !opts.Wide {
			narrow := make([]interface{}, 0, len(cells))
			for i, c := range p.columns {
				if c.Priority == 0 {
					narrow = append(narrow, cells[i])
				}
			}
			cells = narrow
		}
		row := metav1.TableRow{Cells: cells, Conditions: conds}
		row.Object, err = rowObject(r, obj, opts.IncludeObject)
		if err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, row)
	}
	return t, nil
}

// rowObject builds a row's object, encoded (Raw) so that the Table marshals
// with encoding/json as it does with Kubernetes' codecs.
func rowObject(r *api.Resource, obj api.Object, include string) (runtime.RawExtension, error) {
	var out runtime.Object
	switch include {
	case IncludeNone:
		return runtime.RawExtension{}, nil
	case IncludeObject:
		out = obj
		if obj.GetObjectKind().GroupVersionKind().Empty() {
			// Objects are shared: never set TypeMeta on the caller's copy.
			cp := obj.DeepCopyObject()
			cp.GetObjectKind().SetGroupVersionKind(r.GVK())
			out = cp
		}
	default:
		m := meta.AsPartialObjectMetadata(obj)
		m.TypeMeta = metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: metav1.SchemeGroupVersion.String()}
		out = m
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return runtime.RawExtension{}, fmt.Errorf("tables: encoding row object: %w", err)
	}
	return runtime.RawExtension{Raw: raw, Object: out}, nil
}

// age formats the time since t as kubectl does ("<unknown>" when unset).
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// Column descriptions shared by many resources.
var (
	nameColumn = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]}
	ageColumn = metav1.TableColumnDefinition{Name: "Age", Type: "string",
		Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]}
)

// defaultPrinter is Kubernetes' default table for resources without their
// own printer: the name and the creation time.
var defaultPrinter = printer{
	columns: []metav1.TableColumnDefinition{
		nameColumn,
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	},
	row: func(obj api.Object, _ time.Time) ([]interface{}, []metav1.TableRowCondition, error) {
		ts := obj.GetCreationTimestamp()
		var created interface{}
		if !ts.IsZero() {
			created = ts.UTC().Format(time.RFC3339)
		}
		return []interface{}{obj.GetName(), created}, nil, nil
	},
}
