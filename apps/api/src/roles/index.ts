export { installRoleRoutes } from './worker-routes';
