import { IsIn, IsNotEmpty, IsString } from "class-validator";
import { BaseProviderSettings } from "../settings";

export const ADVERITY_AUTH_SCHEMES = ["Token", "Bearer"] as const;
export type AdverityAuthScheme = (typeof ADVERITY_AUTH_SCHEMES)[number];

export class AdveritySettings extends BaseProviderSettings {
  @IsString()
  @IsNotEmpty()
  apiKey!: string;

  /** `Token` for keys made with user credentials in the Management API, `Bearer` for keys made in the UI. */
  @IsIn(ADVERITY_AUTH_SCHEMES)
  authScheme: AdverityAuthScheme = "Token";
}
