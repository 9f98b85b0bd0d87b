export { CursorRunnerProxyModule } from './cursor-runner-proxy.module';
