export { fitOnMesh, type MeshFitArgs, type MeshFitCallbacks, type MeshHistory, type MeshLogs } from './fit-on-mesh.js';
