package server_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"rollcall.dev/pkg/server"
)

// No generated message with buf.validate rules is available to this module
// yet, so the test builds one at run time:
//
//	message CreateRequest { string name = 1 [(buf.validate.field).string.min_len = 1]; }
//
// and serves it as a dynamic message; the client sends a
// google.protobuf.StringValue, which has the same wire shape.
// TODO(lead): once rollcall.dev/proto has an annotated request, a test with a
// generated handler could replace this scaffolding.

const createProcedure = "/rollcall.servertest.v1.TestService/Create"

var createRequestDesc = sync.OnceValue(func() protoreflect.MessageDescriptor {
	nameOpts := &descriptorpb.FieldOptions{}
	proto.SetExtension(nameOpts, validatepb.E_Field, &validatepb.FieldRules{
		Type: &validatepb.FieldRules_String_{String_: &validatepb.StringRules{MinLen: proto.Uint64(1)}},
	})
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("rollcall/servertest/v1/test.proto"),
		Package: proto.String("rollcall.servertest.v1"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("CreateRequest"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name:     proto.String("name"),
				JsonName: proto.String("name"),
				Number:   proto.Int32(1),
				Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:     descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
				Options:  nameOpts,
			}},
		}},
	}, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	return fd.Messages().ByName("CreateRequest")
})

// createRequest is a CreateRequest that connect's generic handler can hold: its
// zero value becomes an empty dynamic message on first use.
type createRequest struct{ msg *dynamicpb.Message }

func (r *createRequest) ProtoReflect() protoreflect.Message {
	if r.msg == nil {
		r.msg = dynamicpb.NewMessage(createRequestDesc())
	}
	return r.msg
}

func TestInterceptors(t *testing.T) {
	t.Parallel()

	opts, err := server.HandlerOptions()
	require.NoError(t, err)

	var seenTrace atomic.Pointer[trace.TraceID]
	handler := connect.NewUnaryHandler(createProcedure,
		func(ctx context.Context, _ *connect.Request[createRequest]) (*connect.Response[emptypb.Empty], error) {
			id := trace.SpanContextFromContext(ctx).TraceID()
			seenTrace.Store(&id)
			return connect.NewResponse(&emptypb.Empty{}), nil
		},
		opts...,
	)
	b := setup(t, setupOpts{handlers: []server.Handler{{Path: createProcedure, Handler: handler}}})

	clients := map[string]*connect.Client[wrapperspb.StringValue, emptypb.Empty]{
		"Connect":     connect.NewClient[wrapperspb.StringValue, emptypb.Empty](http.DefaultClient, b.baseURL+createProcedure),
		"GRPCOverH2C": connect.NewClient[wrapperspb.StringValue, emptypb.Empty](h2cClient(t), b.baseURL+createProcedure, connect.WithGRPC()),
	}
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			t.Run("ValidRequestPasses", func(t *testing.T) {
				_, err := client.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("ada")))
				require.NoError(t, err)
			})

			t.Run("InvalidRequestIsInvalidArgument", func(t *testing.T) {
				_, err := client.CallUnary(context.Background(), connect.NewRequest(wrapperspb.String("")))
				require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err), err)

				var cerr *connect.Error
				require.ErrorAs(t, err, &cerr)
				var violations *validatepb.Violations
				for _, d := range cerr.Details() {
					v, err := d.Value()
					require.NoError(t, err)
					if vs, ok := v.(*validatepb.Violations); ok {
						violations = vs
					}
				}
				require.NotNil(t, violations, "no buf.validate.Violations detail")
				require.Len(t, violations.GetViolations(), 1)
				got := violations.GetViolations()[0]
				require.Equal(t, "name", got.GetField().GetElements()[0].GetFieldName())
				require.Equal(t, "string.min_len", got.GetRuleId())
			})
		})
	}

	t.Run("ContinuesRemoteTrace", func(t *testing.T) {
		const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		req := connect.NewRequest(wrapperspb.String("ada"))
		req.Header().Set("traceparent", parent)
		_, err := clients["Connect"].CallUnary(context.Background(), req)
		require.NoError(t, err)
		require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", seenTrace.Load().String())
	})

	t.Run("RPCMetricsOnMetricsEndpoint", func(t *testing.T) {
		code, body := get(t, b.baseURL+"/metrics")
		require.Equal(t, http.StatusOK, code)
		require.True(t, strings.Contains(body,
			`rpc_server_call_duration_seconds_count{error_type="INVALID_ARGUMENT"`),
			"no otelconnect metrics for the rejected call on /metrics")
	})
}
