export { otlpHttpApi, type OtlpHttpOptions } from './http.js';
export { startOtlpGrpcServer, type OtlpGrpcOptions, type RunningGrpcServer } from './grpc.js';
