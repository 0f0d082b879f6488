package postgres

import (
	"encoding/binary"
	"errors"

	"rollcall.dev/services/sync/domain"
	"rollcall.dev/services/sync/erp"
)

// A preview item's records are kept in a compact binary form rather than
// JSON: a preview of 100,000 employees a side writes and reads them all,
// and JSON's encoding and Postgres's jsonb parsing were most of that time.
// The layout of an item: its kind and flags (a byte each), a presence byte
// and the HR record (id, version, company, values), a presence byte and the
// ERP record (id, its fields, the internationalID). Strings are a uvarint
// length and the bytes. A chunk is its items one after the other.

var errCodec = errors.New("sync store: malformed preview item")

type enc struct{ b []byte }

func (e *enc) str(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

func (e *enc) values(v *domain.Values) {
	for _, s := range []string{v.Email, v.GivenName, v.FamilyName, v.Phone, v.StartDate, v.EndDate,
		v.Address.Postaddress, v.Address.Zipcode, v.Address.City, v.Address.CountryCode} {
		e.str(s)
	}
	e.uint(uint64(len(v.Identifications)))
	for _, id := range v.Identifications {
		e.str(id.ID)
		e.str(id.CountryCode)
		e.str(id.Type)
	}
}

// appendItem appends it to buf.
func appendItem(buf []byte, it *domain.Item) []byte {
	e := enc{b: buf}
	e.b = append(e.b, byte(it.Kind), byte(it.Flags))
	if h := it.HR; h != nil {
		e.b = append(e.b, 1)
		e.str(h.ID)
		e.uint(h.Version)
		e.str(h.CompanyID)
		e.values(&h.Values)
	} else {
		e.b = append(e.b, 0)
	}
	if r := it.ERP; r != nil {
		e.b = append(e.b, 1)
		for _, s := range []string{r.ID, r.Email, r.Firstname, r.Lastname, r.Telefon, r.Startdate, r.Enddate,
			r.Postaddress, r.Zipcode, r.City, r.CountryCode} {
			e.str(s)
		}
		if id := r.InternationalID; id != nil {
			e.b = append(e.b, 1)
			e.str(id.ID)
			e.str(id.CountryCode)
			e.str(id.Type)
		} else {
			e.b = append(e.b, 0)
		}
	} else {
		e.b = append(e.b, 0)
	}
	return e.b
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCodec
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCodec
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.uint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCodec
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) values(v *domain.Values) {
	for _, p := range []*string{&v.Email, &v.GivenName, &v.FamilyName, &v.Phone, &v.StartDate, &v.EndDate,
		&v.Address.Postaddress, &v.Address.Zipcode, &v.Address.City, &v.Address.CountryCode} {
		*p = d.str()
	}
	n := d.uint()
	if d.err != nil || n > 64 {
		d.err = errCodec
		return
	}
	for range n {
		v.Identifications = append(v.Identifications, domain.Identification{ID: d.str(), CountryCode: d.str(), Type: d.str()})
	}
}

// decodeChunk calls fn with each item of a chunk of n items.
func decodeChunk(data []byte, n int, fn func(i int, it domain.Item) error) error {
	d := dec{b: data}
	for i := range n {
		var it domain.Item
		d.item(&it)
		if d.err != nil {
			return d.err
		}
		if err := fn(i, it); err != nil {
			return err
		}
	}
	if len(d.b) != 0 {
		return errCodec
	}
	return nil
}

func (d *dec) item(it *domain.Item) {
	it.Kind, it.Flags = domain.ItemKind(d.byte()), domain.Flags(d.byte())
	if d.byte() == 1 {
		h := &domain.HRRecord{ID: d.str(), Version: d.uint(), CompanyID: d.str()}
		d.values(&h.Values)
		it.HR = h
	}
	if d.byte() == 1 {
		r := &erp.Employee{}
		for _, p := range []*string{&r.ID, &r.Email, &r.Firstname, &r.Lastname, &r.Telefon, &r.Startdate, &r.Enddate,
			&r.Postaddress, &r.Zipcode, &r.City, &r.CountryCode} {
			*p = d.str()
		}
		if d.byte() == 1 {
			r.InternationalID = &erp.InternationalID{ID: d.str(), CountryCode: d.str(), Type: d.str()}
		}
		it.ERP = r
	}
}
