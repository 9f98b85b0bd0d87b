export { OutboundHttp, type OutboundHttpOptions, type OutboundRequest, type OutboundResponse } from './outbound-http';
export {
  OutboundConnectionError,
  OutboundHttpError,
  OutboundResponseTooLargeError,
  OutboundTimeoutError,
} from './outbound-http.errors';
export { FormData, multipartBodyOf, type MultipartBody } from './multipart';
