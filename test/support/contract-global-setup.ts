export { setup as default } from "./contract-global";
