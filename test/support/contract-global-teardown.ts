export { teardown as default } from "./contract-global";
