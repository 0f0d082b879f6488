module rollcall.dev/services/sync

go 1.26

require (
	rollcall.dev/pkg v0.0.0
	rollcall.dev/proto v0.0.0
)

replace rollcall.dev/proto => ../../proto

replace rollcall.dev/pkg => ../../pkg
