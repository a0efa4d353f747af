// Stands in for Node built-ins that browser bundles import but never call.
export default {};
