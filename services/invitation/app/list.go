package app

import (
	"time"

	"rollcall.dev/services/invitation/domain"
)

// ListFilter narrows a listing; pages continue after the last item seen.
type ListFilter struct {
	Statuses       []domain.Status // empty: all
	Limit          int
	AfterCreatedAt time.Time
	AfterID        string
}
