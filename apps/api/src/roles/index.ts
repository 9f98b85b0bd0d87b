export { installRoleRoutes, WORKER_ROUTES } from './worker-routes';
